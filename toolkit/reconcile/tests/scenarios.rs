#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every scenario in fixtures/scenarios/ (one YAML file each): expected actions and findings
//! are written by hand from Directory Sync's documented behaviour.

mod common;
use common::*;

fn scenario(name: &str) -> dirsnap_plan::Plan {
    scenario::run_file(
        &root()
            .join("fixtures/scenarios")
            .join(format!("{name}.yml")),
    )
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                scenario(&stringify!($name).replace('_', "-"));
            }
        )*

        #[test]
        fn every_scenario_file_has_a_test() {
            let known: Vec<String> = vec![$(stringify!($name).replace('_', "-")),*];
            for e in std::fs::read_dir(root().join("fixtures/scenarios")).unwrap() {
                let p = e.unwrap().path();
                if p.extension().and_then(|x| x.to_str()) == Some("yml") {
                    let stem = p.file_stem().unwrap().to_string_lossy().to_string();
                    assert!(known.contains(&stem), "{} has no test in tests/scenarios.rs", p.display());
                }
            }
        }
    };
}

scenarios!(
    user_create_enabled,
    config_not_modelled,
    multi_instance_same_domain,
    user_create_disabled,
    user_update,
    user_delete_in_ad,
    user_disable,
    user_enable,
    user_account_expired,
    user_leaves_scope,
    user_reenters_scope,
    user_reenters_scope_externalid_mismatch,
    user_recreated_while_pending,
    user_recreated_while_pending_text_reading,
    user_recreated_while_live,
    user_recreated_old_user_hidden,
    user_reenters_scope_pending_from_history,
    user_recreated_while_pending_from_history,
    pending_list_deleted_for_good,
    pending_list_user_without_id,
    group_create,
    group_rename,
    group_attributes,
    group_renamed_without_history,
    group_members_change,
    group_delete,
    group_nested_not_flattened,
    m365_same_id_blocked,
    m365_soft_deleted_account,
    m365_recreated_disabled_same_id,
    m365_same_id_no_account,
    m365_different_id_blocked,
    m365_different_id_no_account,
    m365_disable_licensed_account,
    m365_pending_deletion_account,
    m365_restore_blocked_account,
    m365_restore_soft_deleted_account,
    m365_lifecycle_without_snapshot,
    multi_forest_precautions_sample,
    multi_forest_foreign_group_delete,
    multi_forest_group_name_collision,
    multi_forest_scim_filter_protects_groups,
    dn_change,
    console_drift_normal_mode,
    duplicate_user_name,
    duplicate_external_id,
    ambiguous_match,
    adoption_by_user_name,
    threshold_pending_deletions,
    threshold_percent_and_allowed,
    threshold_source_shrink,
    ownership_filter,
    no_notification_email,
    filter_wider_than_snapshot,
    filter_narrower_evaluated,
    filter_same_as_exported_with_class,
    token_expired,
);
