# Sourced by scripts/test: a fresh Samba AD DC on 127.0.0.1 for the AD exporter's integration
# tests (toolkit/ad/tests, toolkit/cli/tests/export_ad.rs). They read the DIRSNAP_TEST_AD_*
# variables; without them (plain `cargo test`) they start the DC themselves.
ad_env="$(scripts/ad-server start test --fresh)"
on_exit "scripts/ad-server stop test"
eval "$ad_env"
export DIRSNAP_TEST_AD_NAME="$AD_NAME" DIRSNAP_TEST_AD_IP="$AD_IP" DIRSNAP_TEST_AD_URL="$AD_URL" \
  DIRSNAP_TEST_AD_LDAPS_URL="$AD_LDAPS_URL" DIRSNAP_TEST_AD_BIND_DN="$AD_BIND_DN" \
  DIRSNAP_TEST_AD_PASSWORD="$AD_PASSWORD" DIRSNAP_TEST_AD_BASE_DN="$AD_BASE_DN" \
  DIRSNAP_TEST_AD_REALM="$AD_REALM" DIRSNAP_TEST_AD_CA="$AD_CA" DIRSNAP_TEST_AD_SAM="$AD_SAM"
unset ad_env
