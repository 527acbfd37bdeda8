//! The plan under construction: draft actions, findings, skipped objects and notes, in the
//! order the passes add them. Assembly (`assembly.rs`) sorts them into the plan, and some of
//! its sorts keep ties in this order, so every pass adds in a fixed order.

use crate::ids::DraftId;
use dirsnap_plan::{Action, Finding, MemberRef, Skipped};

/// An action before the plan is ordered: references to other actions are draft ids, turned
/// into seqs once every action has its place.
pub(crate) struct Draft {
    pub action: Action,
    /// Drafts that must succeed first (`depends_on`).
    pub deps: Vec<DraftId>,
    /// For member changes of a group this plan creates: the draft creating it.
    pub target_action: Option<DraftId>,
    /// Members of a member change, each with the draft creating it when it does not exist
    /// yet.
    pub members: Vec<(MemberRef, Option<DraftId>)>,
    /// The name actions are ordered by (userName, group name).
    pub sort_name: String,
}

impl Draft {
    pub(crate) fn new(action: Action, sort_name: &str) -> Draft {
        Draft {
            action,
            deps: Vec::new(),
            target_action: None,
            members: Vec::new(),
            sort_name: sort_name.to_string(),
        }
    }
}

/// A finding with the drafts it is about (`actions`, as seqs once the plan is ordered).
pub(crate) struct DraftFinding {
    pub finding: Finding,
    pub actions: Vec<DraftId>,
}

pub(crate) struct PlanBuilder {
    drafts: Vec<Draft>,
    findings: Vec<DraftFinding>,
    skipped: Vec<Skipped>,
    notes: Vec<String>,
}

/// Everything a plan builder collected, for assembly.
pub(crate) struct PlanParts {
    pub drafts: Vec<Draft>,
    pub findings: Vec<DraftFinding>,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<String>,
}

impl PlanBuilder {
    /// Room for `drafts` actions up front: growing a vector of a few hundred thousand drafts
    /// would copy it several times over, and capacity never written costs no memory.
    pub(crate) fn with_draft_capacity(drafts: usize) -> PlanBuilder {
        PlanBuilder {
            drafts: Vec::with_capacity(drafts),
            findings: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn add_draft(&mut self, draft: Draft) -> DraftId {
        self.drafts.push(draft);
        DraftId::new(self.drafts.len() - 1)
    }

    pub(crate) fn reserve_drafts(&mut self, more: usize) {
        self.drafts.reserve(more);
    }

    /// `draft` runs only after `first` succeeded.
    pub(crate) fn add_dependency(&mut self, draft: DraftId, first: DraftId) {
        if let Some(draft) = self.drafts.get_mut(draft.index()) {
            draft.deps.push(first);
        }
    }

    pub(crate) fn drafts(&self) -> &[Draft] {
        &self.drafts
    }

    pub(crate) fn draft(&self, id: DraftId) -> Option<&Draft> {
        self.drafts.get(id.index())
    }

    /// A draft to amend (a later pass adding to its reason).
    pub(crate) fn draft_mut(&mut self, id: DraftId) -> Option<&mut Draft> {
        self.drafts.get_mut(id.index())
    }

    /// The findings added so far.
    pub(crate) fn findings(&self) -> &[DraftFinding] {
        &self.findings
    }

    /// Adds a finding about the actions `actions` (none: about the subject only).
    pub(crate) fn add_finding(&mut self, finding: Finding, actions: Vec<DraftId>) {
        self.findings.push(DraftFinding { finding, actions });
    }

    /// Adds findings in the order given.
    pub(crate) fn add_findings(&mut self, findings: Vec<DraftFinding>) {
        self.findings.extend(findings);
    }

    pub(crate) fn skip(&mut self, skipped: Skipped) {
        self.skipped.push(skipped);
    }

    pub(crate) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    pub(crate) fn into_parts(self) -> PlanParts {
        PlanParts {
            drafts: self.drafts,
            findings: self.findings,
            skipped: self.skipped,
            notes: self.notes,
        }
    }
}
