//! The end-to-end tests: one test binary that runs the real `kompas` and `kompas-relay` programs
//! (cargo builds them as this package's `e2e-kompas` and `e2e-kompas-relay` binaries, see
//! `src/bin/`) against each other, a relay in this process, nginx, Chromium and a mail server.
//!
//! Each file beside this one is a module holding one subject's tests; run one with
//! `cargo test -p kompas-tests --test e2e SUBJECT::`. A new subject is a new file here plus its
//! `mod` line below; `layout` fails when a file is missing from this list or a test file sits
//! outside this folder (each would be a separate binary that links everything again).

mod attack_membership;
mod attack_names;
mod attack_removal;
mod automerge_js;
mod browser;
mod cli_behaviour;
mod cli_documents;
mod crash;
mod document_budget;
mod figure_units;
mod figures;
mod join_confirmation;
mod layout;
mod messages;
mod mirror_tls;
mod partnership_flows;
mod partnerships;
mod published_workflows;
mod readme_tour;
mod relay_attacks;
mod relay_deploy;
mod relay_disk_full;
mod relay_operator;
mod relay_postgres;
mod relay_process;
mod relay_protocol;
mod relay_rebuilt;
mod reminders;
mod report;
mod serve_synced_definition;
mod sync_change_bomb;
mod sync_replicas;
mod tls;
mod tls_proxy;
mod workflows;
