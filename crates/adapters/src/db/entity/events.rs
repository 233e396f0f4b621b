use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `customer.created`, `order.status_changed`, ...
    #[sea_orm(column_name = "type")]
    pub kind: String,
    pub object_id: Uuid,
    /// The object's stored row as JSON.
    pub object: String,
    pub created_at: DateTimeUtc,
    /// Whether the webhook dispatcher has made this event's deliveries.
    pub routed: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
