use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incoming_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Africa's Talking's `id`; unique.
    pub provider_id: String,
    pub sender: String,
    pub recipient: String,
    pub text: String,
    pub link_id: Option<String>,
    pub date_raw: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub received_at: DateTimeUtc,
    pub network_code: Option<String>,
    pub stop_word: bool,
    pub payload: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
