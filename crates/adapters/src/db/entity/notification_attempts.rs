use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub notification_id: Uuid,
    pub number: i32,
    pub attempted_at: DateTimeUtc,
    pub outcome: String,
    pub error: Option<String>,
    pub recipient: Option<String>,
    /// The provider's price in millionths of the major unit (migration 10).
    pub cost_micros: Option<i64>,
    pub cost_currency: Option<String>,
    pub parts: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
