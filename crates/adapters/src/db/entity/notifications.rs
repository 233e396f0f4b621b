use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub event: String,
    pub language: String,
    pub skip_reason: Option<String>,
    pub recipient: String,
    pub message: String,
    pub status: String,
    pub attempts: i32,
    pub timed_out: bool,
    pub next_attempt_at: DateTimeUtc,
    pub retry_since: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub provider_message_id: Option<String>,
    pub provider_status: Option<String>,
    pub delivery_status: Option<String>,
    pub delivery_failure_reason: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
