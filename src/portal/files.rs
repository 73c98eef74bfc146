//! Files through a portal link: uploads that belong to the link, and
//! downloads of files on public messages of the tickets in its scope.

use std::path::PathBuf;

use super::access::Portal;
use super::Scope;
use crate::attachments::access::{readable, Viewer};
use crate::attachments::repo::Stored;
use crate::attachments::{store, AttachmentId, Upload};
use crate::error::Error;

fn unknown() -> Error {
    Error::NotFound("portal link")
}

/// The link behind `token`, admitted by the rate limits, before anything
/// of an upload is read: an unknown link costs the server no bytes.
pub async fn admit(ctx: &Portal<'_>, token: String, ip: &str) -> Result<Scope, Error> {
    ctx.admit(&token, ip)?;
    ctx.db
        .read(move |conn| super::resolve(conn, &token)?.ok_or_else(unknown))
        .await
}

/// Stores an upload through the link `scope` (the file at `path`, which the caller removes).
pub async fn upload(
    ctx: &Portal<'_>,
    scope: Scope,
    (path, filename, content_type): (PathBuf, String, Option<String>),
) -> Result<Upload, Error> {
    let upload = store::upload_file(
        ctx.db,
        path,
        (&filename, content_type),
        (scope.uploader(), ctx.max_message_bytes.saturating_mul(2)),
    )
    .await?;
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
