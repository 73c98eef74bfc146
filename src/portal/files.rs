//! Files through a portal link: uploads that belong to the link, and
//! downloads of files on public messages of the tickets in its scope.

use std::path::PathBuf;

use super::access::Portal;
use crate::attachments::access::{readable, Viewer};
use crate::attachments::repo::Stored;
use crate::attachments::{store, AttachmentId, Upload};
use crate::error::Error;

fn unknown() -> Error {
    Error::NotFound("portal link")
}

/// Stores an upload of the link's holder (the file at `path`, which the caller removes).
pub async fn upload(
    ctx: &Portal<'_>,
    token: String,
    ip: &str,
    (path, filename, content_type): (PathBuf, String, Option<String>),
) -> Result<Upload, Error> {
    ctx.admit(&token, ip)?;
    let scope = ctx
        .db
        .read(move |conn| super::resolve(conn, &token)?.ok_or_else(unknown))
        .await?;
    let upload =
        store::upload_file(ctx.db, path, &filename, content_type, scope.uploader()).await?;
    ctx.uses.record(scope.token_id);
    Ok(upload)
}

/// A file the link may read: on a public message of a ticket in its scope,
/// or uploaded through it; 404 otherwise.
pub async fn readable_file(
    ctx: &Portal<'_>,
    token: String,
    ip: &str,
    id: AttachmentId,
) -> Result<Stored, Error> {
    ctx.admit(&token, ip)?;
    let (scope, stored) = ctx
        .db
        .read(move |conn| {
            let scope = super::resolve(conn, &token)?.ok_or_else(unknown)?;
            let viewer = Viewer::Portal {
                token: scope.token_id,
                tickets: super::tickets_in_scope(conn, &scope)?,
            };
            Ok((scope, readable(conn, &viewer, id)?))
        })
        .await?;
    ctx.uses.record(scope.token_id);
    Ok(stored)
}
