//! CONFIG_NOT_MODELLED: nothing in config.yml is silently ignored. A Directory Sync setting
//! dirsnap does not model (`exclude`, the group attribute mapping, the LDAP edition's
//! `search`, `cache_disabled`) or a key it does not know (a newer agent's, or a typo such as
//! `ad.ldapp`) may make the agent send something this plan does not show: each one is a
//! warning saying which key, what dirsnap does instead and how the plan may differ. (Keys
//! under `dirsnap:` are dirsnap's own: an unknown one is refused when the config is read.)

use crate::findings;
use crate::instance::InstanceState;
use crate::plan_builder::PlanBuilder;

pub(crate) fn check(plan: &mut PlanBuilder, instances: &[InstanceState<'_>]) {
    for inst in instances {
        let config = inst.input.config;
        let file = config.path.display().to_string();
        for key in &config.unmodelled_keys {
            plan.add_finding(
                findings::config_not_modelled(inst.name(), &file, &key.key, key.line, key.effect),
                Vec::new(),
            );
        }
        for key in &config.unknown_keys {
            plan.add_finding(
                findings::config_not_modelled(
                    inst.name(),
                    &file,
                    &key.key,
                    key.line,
                    &key.effect(),
                ),
                Vec::new(),
            );
        }
    }
}
