//! Stand-ins for the services orderdesk talks to, shared by the adapters' tests (through
//! `orderdesk_adapters::testing`) and the system-test harness (`orderdesk-systest`): one fake
//! of each, so a test and a system check see the same contract.

pub mod africastalking;
