//! The finding codes: SPEC §5's fixed set plus the ones the engine adds, each with its usual
//! severity. Each is documented in docs/findings.md (a test checks every code has a section
//! there); the engine builds findings with these codes, `audit` and users' tools match on them.

use crate::finding::Severity;

pub const M365_RECREATE_COLLISION: &str = "M365_RECREATE_COLLISION";
pub const M365_RECREATE_UNBLOCK: &str = "M365_RECREATE_UNBLOCK";
pub const M365_RECREATE_NEW_ACCOUNT: &str = "M365_RECREATE_NEW_ACCOUNT";
pub const M365_ACCOUNTS_BLOCKED: &str = "M365_ACCOUNTS_BLOCKED";
pub const M365_ACCOUNTS_UNBLOCKED: &str = "M365_ACCOUNTS_UNBLOCKED";
pub const M365_ACCOUNT_IN_RECYCLE_BIN: &str = "M365_ACCOUNT_IN_RECYCLE_BIN";
pub const M365_LINKAGE_UNVERIFIED: &str = "M365_LINKAGE_UNVERIFIED";
pub const RECREATED_PENDING_DELETION: &str = "RECREATED_PENDING_DELETION";
pub const RECREATED_USER: &str = "RECREATED_USER";
pub const GROUP_NAME_COLLISION: &str = "GROUP_NAME_COLLISION";
pub const FOREIGN_GROUP_DELETE: &str = "FOREIGN_GROUP_DELETE";
pub const FOREIGN_USER_DELETE: &str = "FOREIGN_USER_DELETE";
pub const CONSOLE_DRIFT: &str = "CONSOLE_DRIFT";
pub const DN_CHANGED: &str = "DN_CHANGED";
pub const DUPLICATE_KEY: &str = "DUPLICATE_KEY";
pub const NO_NOTIFICATION_EMAIL: &str = "NO_NOTIFICATION_EMAIL";
pub const TOKEN_EXPIRING: &str = "TOKEN_EXPIRING";
pub const THRESHOLD_EXCEEDED: &str = "THRESHOLD_EXCEEDED";
pub const AMBIGUOUS_MATCH: &str = "AMBIGUOUS_MATCH";
pub const OWNERSHIP_CONFLICT: &str = "OWNERSHIP_CONFLICT";
pub const ADOPTION: &str = "ADOPTION";
pub const FILTER_WIDER_THAN_SNAPSHOT: &str = "FILTER_WIDER_THAN_SNAPSHOT";
pub const LIVE_NOT_FOUND: &str = "LIVE_NOT_FOUND";
pub const LIVE_UNIQUENESS_CONFLICT: &str = "LIVE_UNIQUENESS_CONFLICT";
pub const MISSING_USER_NAME: &str = "MISSING_USER_NAME";
pub const CONFIG_NOT_MODELLED: &str = "CONFIG_NOT_MODELLED";
pub const SNAPSHOT_TIME_GAP: &str = "SNAPSHOT_TIME_GAP";
pub const DOMAIN_SYNCED_TWICE: &str = "DOMAIN_SYNCED_TWICE";
pub const SNAPSHOT_REPEATED: &str = "SNAPSHOT_REPEATED";
pub const GROUP_REPLACED: &str = "GROUP_REPLACED";
pub const PENDING_DELETION_PRESUMED: &str = "PENDING_DELETION_PRESUMED";

/// Every code with its usual severity and a one-line meaning. TOKEN_EXPIRING is a warning,
/// or an error when the token has already expired; RECREATED_USER is info when nothing
/// changes in IIJ ID.
pub const CATALOG: &[(&str, Severity, &str)] = &[
    (
        M365_RECREATE_COLLISION,
        Severity::Error,
        "recreated AD user's linkage ID differs while a blocked Microsoft 365 account with its UPN exists: linkage will fail",
    ),
    (
        M365_RECREATE_UNBLOCK,
        Severity::Info,
        "recreated AD user keeps its linkage ID and a blocked Microsoft 365 account exists: it will be unblocked and reused",
    ),
    (
        M365_RECREATE_NEW_ACCOUNT,
        Severity::Info,
        "recreated AD user and no Microsoft 365 account with its UPN: a new account will be created",
    ),
    (
        M365_ACCOUNTS_BLOCKED,
        Severity::Info,
        "users this plan disables or puts into pending deletion have linked Microsoft 365 accounts: IIJ ID blocks them and deactivates their licences (one finding per instance and op)",
    ),
    (
        M365_ACCOUNTS_UNBLOCKED,
        Severity::Info,
        "users this plan restores or enables have blocked Microsoft 365 accounts: IIJ ID unblocks them (one finding per instance and op)",
    ),
    (
        M365_ACCOUNT_IN_RECYCLE_BIN,
        Severity::Warning,
        "users this plan restores or enables have a soft-deleted Microsoft 365 account: it cannot be unblocked until restored in Microsoft 365",
    ),
    (
        M365_LINKAGE_UNVERIFIED,
        Severity::Info,
        "this plan disables, deletes, restores or enables users and no Microsoft 365 snapshot says what that does to their accounts and licences",
    ),
    (
        RECREATED_PENDING_DELETION,
        Severity::Error,
        "a new AD object has the login ID of a user pending deletion: Directory Sync errors until it is deleted in the console",
    ),
    (
        RECREATED_USER,
        Severity::Warning,
        "an AD account was recreated (new objectGUID, same login ID)",
    ),
    (
        GROUP_NAME_COLLISION,
        Severity::Error,
        "two different AD groups map to one IIJ ID group name",
    ),
    (
        FOREIGN_GROUP_DELETE,
        Severity::Error,
        "this instance would delete or change a group another instance synchronizes",
    ),
    (
        FOREIGN_USER_DELETE,
        Severity::Error,
        "this instance would put into pending deletion a user another instance synchronizes",
    ),
    (
        CONSOLE_DRIFT,
        Severity::Warning,
        "IIJ ID differs from what the last sync wrote: edited in the console",
    ),
    (
        DN_CHANGED,
        Severity::Info,
        "an object's DN changed since the previous snapshot; membership follows the objectGUID",
    ),
    (
        DUPLICATE_KEY,
        Severity::Error,
        "two AD objects map to one userName or externalId",
    ),
    (
        NO_NOTIFICATION_EMAIL,
        Severity::Warning,
        "a user to be created has no notification email",
    ),
    (
        TOKEN_EXPIRING,
        Severity::Warning,
        "the access token expires before or soon after the run",
    ),
    (
        THRESHOLD_EXCEEDED,
        Severity::Error,
        "a safety threshold is exceeded",
    ),
    (
        AMBIGUOUS_MATCH,
        Severity::Error,
        "more than one IIJ ID object could be this AD object",
    ),
    (
        OWNERSHIP_CONFLICT,
        Severity::Error,
        "an AD object maps to an IIJ ID object this instance does not own",
    ),
    (
        ADOPTION,
        Severity::Info,
        "a pre-existing IIJ ID user without externalId is adopted by userName",
    ),
    (
        FILTER_WIDER_THAN_SNAPSHOT,
        Severity::Warning,
        "the config's LDAP filter may select objects the AD snapshot was not exported with",
    ),
    (
        LIVE_NOT_FOUND,
        Severity::Error,
        "normal mode: the object a request targets is gone from the live tenant (404)",
    ),
    (
        LIVE_UNIQUENESS_CONFLICT,
        Severity::Error,
        "normal mode: the live tenant already has an object with this userName, externalId or group name (409)",
    ),
    (
        MISSING_USER_NAME,
        Severity::Warning,
        "an AD user in scope has no value for the attribute bound to userName",
    ),
    (
        CONFIG_NOT_MODELLED,
        Severity::Warning,
        "config.yml has a Directory Sync setting dirsnap does not model, or a key it does not know: the agent may send what this plan does not show",
    ),
    (
        SNAPSHOT_TIME_GAP,
        Severity::Warning,
        "the AD and IIJ ID snapshots were taken more than a day apart",
    ),
    (
        DOMAIN_SYNCED_TWICE,
        Severity::Error,
        "two instances synchronize one AD domain (the precautions: never)",
    ),
    (
        SNAPSHOT_REPEATED,
        Severity::Warning,
        "one snapshot given in two roles (--iid and --previous-iid, --ad and --previous-ad): its history adds nothing",
    ),
    (
        GROUP_REPLACED,
        Severity::Warning,
        "a group is deleted and another created with the same members (a rename the plan cannot see): its Microsoft 365 group is deleted",
    ),
    (
        PENDING_DELETION_PRESUMED,
        Severity::Info,
        "a user the live listing lacks is pending deletion per history (low confidence) or the console's list: it keeps its login ID and externalId",
    ),
];
