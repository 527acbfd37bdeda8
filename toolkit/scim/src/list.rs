//! Paged listing (RFC 7644 §3.4.2.4) that survives what real servers do: a `count` capped
//! below what was asked, `totalResults` changing during the read, and rows duplicated or
//! skipped across pages when the tenant changes between pages. Rows are deduplicated by `id`,
//! a missing row triggers a re-read, and every anomaly is reported.

use crate::client::ScimClient;
use crate::error::ScimError;
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    Users,
    Groups,
}

impl ResourceType {
    pub fn path(self) -> &'static str {
        match self {
            ResourceType::Users => "Users",
            ResourceType::Groups => "Groups",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListOptions {
    pub filter: Option<String>,
    /// The `count` asked for; servers may return fewer.
    pub page_size: usize,
    /// Pages fetched at once once `totalResults` is known.
    pub concurrency: usize,
    pub excluded_attributes: Option<String>,
    /// Re-read passes allowed when rows are missing.
    pub max_rereads: usize,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            filter: None,
            page_size: 100,
            concurrency: 4,
            excluded_attributes: None,
            max_rereads: 2,
        }
    }
}

/// Every resource read, sorted by `id`, and what was odd about the read.
#[derive(Debug, Clone, Default)]
pub struct ListOutcome {
    pub resources: Vec<Value>,
    /// `totalResults` of the last page read.
    pub total_results: u64,
    pub pages: u64,
    /// Anomalies, for the snapshot manifest's notes.
    pub notes: Vec<String>,
}

struct Page {
    total: u64,
    resources: Vec<Value>,
}

fn insert(by_id: &mut BTreeMap<String, Value>, r: Value, duplicates: &mut u64) {
    let id = r
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if by_id.insert(id, r).is_some() {
        *duplicates += 1;
    }
}

impl ScimClient {
    async fn page(
        &self,
        rt: ResourceType,
        opts: &ListOptions,
        start: u64,
        count: usize,
    ) -> Result<Page, ScimError> {
        let mut url = self.url(rt.path())?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(f) = &opts.filter {
                q.append_pair("filter", f);
            }
            q.append_pair("startIndex", &start.to_string());
            q.append_pair("count", &count.to_string());
            if let Some(x) = &opts.excluded_attributes {
                q.append_pair("excludedAttributes", x);
            }
        }
        let resp = self.send(Method::GET, url.clone(), None).await?;
        let invalid = |message: String| ScimError::InvalidResponse {
            url: url.to_string(),
            message,
        };
        let body = resp.body;
        let total = body
            .get("totalResults")
            .and_then(Value::as_u64)
            .ok_or_else(|| invalid("ListResponse without a numeric totalResults".into()))?;
        let resources = match body.get("Resources") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err(invalid("Resources is not an array".into())),
        };
        if resources
            .iter()
            .any(|r| r.get("id").and_then(Value::as_str).is_none())
        {
            return Err(invalid("a resource in Resources has no string id".into()));
        }
        Ok(Page { total, resources })
    }

    /// Lists every resource of a type. `progress(read, total)` is called after each page.
    pub async fn list(
        &self,
        rt: ResourceType,
        opts: &ListOptions,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ListOutcome, ScimError> {
        let page_size = opts.page_size.max(1);
        let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
        let mut notes = Vec::new();
        let mut duplicates = 0u64;
        let mut pages = 0u64;

        let first = self.page(rt, opts, 1, page_size).await?;
        pages += 1;
        let mut totals = vec![first.total];
        // The server's real page size: what it returned when more rows exist.
        let served = if (first.resources.len() as u64) < first.total {
            first.resources.len().max(1)
        } else {
            page_size
        };
        if served < page_size {
            notes.push(format!(
                "{}: the server returns at most {served} rows per page (asked for {page_size})",
                rt.path()
            ));
        }
        for r in first.resources {
            insert(&mut by_id, r, &mut duplicates);
        }
        progress(by_id.len() as u64, first.total);

        let starts: Vec<u64> = (1..)
            .map(|k: u64| 1 + k * served as u64)
            .take_while(|s| *s <= first.total)
            .collect();
        let mut stream = futures::stream::iter(starts)
            .map(|start| self.page(rt, opts, start, served))
            .buffered(opts.concurrency.max(1));
        while let Some(page) = stream.next().await {
            let page = page?;
            pages += 1;
            totals.push(page.total);
            for r in page.resources {
                insert(&mut by_id, r, &mut duplicates);
            }
            progress(by_id.len() as u64, page.total);
        }
        drop(stream);

        // Rows can be skipped when the tenant changed between pages: read again, in order,
        // until nothing new appears or the passes are spent.
        let mut last_total = totals.last().copied().unwrap_or(0);
        let mut rereads = 0;
        while (by_id.len() as u64) < last_total && rereads < opts.max_rereads {
            rereads += 1;
            let before = by_id.len();
            let mut start = 1u64;
            loop {
                let page = self.page(rt, opts, start, served).await?;
                pages += 1;
                last_total = page.total;
                let n = page.resources.len() as u64;
                for r in page.resources {
                    insert(&mut by_id, r, &mut duplicates);
                }
                progress(by_id.len() as u64, page.total);
                if n == 0 || start + n > page.total {
                    break;
                }
                start += n;
            }
            notes.push(format!(
                "{}: rows were missing after the first pass; re-read pass {rereads} found {} more",
                rt.path(),
                by_id.len() - before
            ));
        }
        totals.sort_unstable();
        totals.dedup();
        if totals.len() > 1 {
            notes.push(format!(
                "{}: totalResults changed during the read ({}): the tenant was being modified",
                rt.path(),
                totals
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" → ")
            ));
        }
        if duplicates > 0 {
            notes.push(format!(
                "{}: {duplicates} rows were returned on more than one page (kept once)",
                rt.path()
            ));
        }
        if (by_id.len() as u64) < last_total {
            notes.push(format!(
                "{}: the server reports {last_total} resources but only {} could be read",
                rt.path(),
                by_id.len()
            ));
        }
        Ok(ListOutcome {
            resources: by_id.into_values().collect(),
            total_results: last_total,
            pages,
            notes,
        })
    }
}
