//! sea-orm entities: the storage shape, private to the adapters.

pub(crate) mod customers;
pub(crate) mod orders;
