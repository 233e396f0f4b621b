//! [`SessionRepository`] on sea-orm; tokens are stored as SHA-256 hashes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderdesk_domain::{Permission, RepoError};
use orderdesk_signin::{Session, SessionRepository};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::entity::sessions::{self, Column, Entity};
use super::error::repo_error;
use super::store::Store;

/// Sessions in the `sessions` table.
#[derive(Debug, Clone)]
pub struct SeaOrmSessionRepository {
    db: Store,
}

impl SeaOrmSessionRepository {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl SessionRepository for SeaOrmSessionRepository {
    async fn create(&self, token: &str, session: &Session) -> Result<(), RepoError> {
        // Expired sessions are swept whenever someone signs in; no background job needed.
        Entity::delete_many()
            .filter(Column::ExpiresAt.lt(session.created_at))
            .exec(self.db.write())
            .await
            .map_err(repo_error)?;
        let permissions: Vec<&str> = session.permissions.iter().map(|p| p.as_str()).collect();
        let row = sessions::ActiveModel {
            token_hash: Set(hash(token)),
            subject: Set(session.subject.clone()),
            name: Set(session.name.clone()),
            email: Set(session.email.clone()),
            picture: Set(session.picture.clone()),
            permissions: Set(permissions.join(" ")),
            csrf_token: Set(session.csrf_token.clone()),
            created_at: Set(session.created_at),
            expires_at: Set(session.expires_at),
        };
        Entity::insert(row).exec_without_returning(self.db.write()).await.map_err(repo_error)?;
        Ok(())
    }

    async fn find(&self, token: &str, now: DateTime<Utc>) -> Result<Option<Session>, RepoError> {
        let row = Entity::find_by_id(hash(token))
            .filter(Column::ExpiresAt.gt(now))
            .one(self.db.read())
            .await
            .map_err(repo_error)?;
        Ok(row.map(|r| Session {
            subject: r.subject,
            name: r.name,
            email: r.email,
            picture: r.picture,
            permissions: r.permissions.split_whitespace().filter_map(Permission::parse).collect(),
            csrf_token: r.csrf_token,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }))
    }

    async fn delete(&self, token: &str) -> Result<(), RepoError> {
        Entity::delete_by_id(hash(token)).exec(self.db.write()).await.map_err(repo_error)?;
        Ok(())
    }
}
