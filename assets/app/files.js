// File attachments: the composer's Attach button, drop and paste with a chip
// per upload, and the files shown under a message in the conversation.

import { h, toast } from "./dom.js";
import { session, refresh } from "./api.js";

/** Types shown as a thumbnail; everything else is a download link. */
const PREVIEW = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp" };

/** "1.2 MB", "340 KB", "12 B". */
export function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, "") : Math.round(value)} ${units[unit]}`;
}

/** The signed-in user's Authorization header. A function, read at each request,
 * because the access token is replaced when it is refreshed. */
export const bearer = () => (session.token ? { Authorization: `Bearer ${session.token}` } : {});

/** `body` plus the finished uploads of `files`; without any, the field is left
 * out, so a plain message is the same request as before attachments existed. */
export function withAttachments(body, files) {
  const ids = files.ids();
  return ids.length ? { ...body, attachments: ids } : body;
}

const headerValues = (headers) => (typeof headers === "function" ? headers() : headers) || {};

// ---------------------------------------------------------------- composer

/** Attachments for a message being written. `uploadUrl` takes the multipart
 * POST; `headers` (an object or a function answering one) goes with it;
 * `textarea` gets image paste, `zone` (default: the textarea) takes dropped
 * files; `onchange()` runs whenever an upload starts, ends or is removed.
 * Returns {element, ids(), clear(), busy()}; put `element` in the form. */
export function attachments({ uploadUrl, headers, textarea, zone = textarea, onchange }) {
  const entries = [];
  let pasted = 0;
  const input = h("input", { type: "file", name: "file", class: "attach-input", multiple: true, hidden: true, tabindex: "-1" });
  const attach = h("button", { type: "button", class: "attach", title: "Attach files (or drop or paste them)", onclick: () => input.click() }, "Attach files");
  const list = h("ul", { class: "file-chips", "aria-label": "Attached files", "aria-live": "polite" });
  const element = h("div", { class: "composer-files" }, attach, input, list);

  const busy = () => entries.some((e) => e.state === "uploading");
  const changed = () => {
    element.setAttribute("aria-busy", String(busy()));
    if (onchange) onchange();
  };

  function add(files) {
    for (const file of files) {
      const entry = { state: "uploading", id: null };
      const progress = h("progress", { max: 1, "aria-label": `Uploading ${file.name}` });
      const note = h("span", { class: "note" });
      entry.chip = h("li", { class: "file-chip uploading", title: file.name },
        h("span", { class: "name" }, file.name),
        h("span", { class: "size" }, formatSize(file.size)),
        progress, note,
        h("button", { type: "button", class: "remove", title: "Remove", "aria-label": `Remove ${file.name}`, onclick: () => remove(entry) }, "×"));
      entry.request = upload(uploadUrl, headers, file, (share) => { progress.value = share; });
      entry.request.done.then((stored) => {
        if (entry.state === "removed") return;
        entry.state = "done";
        entry.id = stored.id;
        entry.chip.dataset.uploadId = stored.id;
        entry.chip.classList.replace("uploading", "done");
        progress.remove();
        changed();
      }, (err) => {
        if (entry.state === "removed") return;
        entry.state = "error";
        entry.chip.classList.replace("uploading", "error");
        progress.remove();
        note.textContent = err.message;
        note.setAttribute("role", "alert");
        changed();
      });
      entries.push(entry);
      list.append(entry.chip);
    }
    changed();
  }

  // Removing only forgets the upload (or stops it); the server drops unused ones.
  function remove(entry) {
    const hadFocus = entry.chip.contains(document.activeElement);
    entry.state = "removed";
    entry.request.abort();
    entry.chip.remove();
    entries.splice(entries.indexOf(entry), 1);
    if (hadFocus) attach.focus();
    changed();
  }

  input.addEventListener("change", () => {
    // Copied first: emptying the input lets the same file be picked again.
    const files = [...input.files];
    input.value = "";
    add(files);
  });
  if (textarea) {
    textarea.addEventListener("paste", (e) => {
      const files = pastedFiles(e.clipboardData);
      if (!files.length) return; // text pastes as usual
      e.preventDefault();
      add(files.map((file) => pastedName(file, () => { pasted += 1; return pasted; })));
    });
  }
  if (zone) dropZone(zone, add);
  guardPage();

  return {
    element,
    /** Ids of the finished uploads, in the order shown. */
    ids: () => entries.filter((e) => e.state === "done").map((e) => e.id),
    /** Forgets every file (after sending, or when the view closes). */
    clear() {
      for (const entry of entries) { entry.state = "removed"; entry.request.abort(); }
      entries.length = 0;
      list.replaceChildren();
      changed();
    },
    /** True while a file is still uploading: sending must wait. */
    busy,
  };
}

/** Sends one file as the multipart part `file`, with progress. `done`
 * resolves to the stored upload or rejects with a message for the chip. */
function upload(url, headers, file, onprogress) {
  let xhr = null;
  let aborted = false;
  const attempt = (retried) => new Promise((resolve, reject) => {
    if (aborted) { reject(new Error("Removed.")); return; }
    xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headerValues(headers))) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onprogress(e.loaded / e.total); };
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new Error("Upload failed: the server could not be reached."));
    xhr.onabort = () => reject(new Error("Removed."));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  }).then(async (done) => {
    // An expired access token is refreshed once, as api.js does for JSON calls.
    if (done.status === 401 && !retried && typeof headers === "function" && (await refresh())) return attempt(true);
    const body = parseJson(done.responseText);
    if (done.status >= 200 && done.status < 300 && body && body.id !== undefined) return body;
    throw new Error(problemText(done.status, body));
  });
  return { done: attempt(false), abort() { aborted = true; if (xhr) xhr.abort(); } };
}

function parseJson(text) {
  try { return text ? JSON.parse(text) : null; } catch { return null; }
}

/** The problem's own words; a proxy's 413 page has none, so say it plainly. */
function problemText(status, problem) {
  if (problem && (problem.detail || problem.title)) return problem.detail || problem.title;
  if (status === 413) return "This file is too large.";
  return `Upload failed (HTTP ${status}).`;
}

/** Files on the clipboard, unless it also holds text: copying from an office
 * document puts a picture of it there too, and the text is what was meant. */
function pastedFiles(data) {
  if (!data || data.getData("text/plain")) return [];
  const files = [...(data.files || [])];
  if (files.length) return files;
  return [...(data.items || [])].filter((i) => i.kind === "file").map((i) => i.getAsFile()).filter(Boolean);
}

/** Screenshots arrive nameless or all as "image.png": give each its own name. */
function pastedName(file, next) {
  if (file.name && !/^image\.\w+$/i.test(file.name)) return file;
  const image = file.type.startsWith("image/");
  const ext = EXTENSIONS[file.type] || (file.type.split("/")[1] || "bin").replace(/[^a-z0-9]/gi, "") || "bin";
  return new File([file], `${image ? "pasted-image" : "pasted-file"}-${next()}.${ext}`, { type: file.type, lastModified: file.lastModified });
}

const hasFiles = (e) => Boolean(e.dataTransfer) && [...e.dataTransfer.types].includes("Files");

/** Files dropped on `zone` are attached; dragged text still drops as text. */
function dropZone(zone, add) {
  zone.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    zone.classList.add("dropping");
  });
  zone.addEventListener("dragleave", (e) => {
    if (!zone.contains(e.relatedTarget)) zone.classList.remove("dropping");
  });
  zone.addEventListener("drop", (e) => {
    zone.classList.remove("dropping");
    if (!hasFiles(e)) return;
    e.preventDefault();
    add([...e.dataTransfer.files]);
  });
}

let guarded = false;

/** A file dropped just beside the composer would make the browser open it,
 * losing the draft: outside drop zones, dropping files does nothing. */
function guardPage() {
  if (guarded) return;
  guarded = true;
  const elsewhere = (e) => !e.defaultPrevented && hasFiles(e)
    && !(e.target instanceof Element && e.target.closest("input[type=file]"));
  window.addEventListener("dragover", (e) => {
    if (!elsewhere(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "none";
  });
  window.addEventListener("drop", (e) => { if (elsewhere(e)) e.preventDefault(); });
}

// ------------------------------------------------------------ conversation

/** A message's files: thumbnails for images, download links for the rest.
 * With `headers` (signed in) the bytes are fetched with them; without
 * (portal links, whose token is in the path) the URLs are used as they are. */
export function attachmentList(message, { headers } = {}) {
  const files = message.attachments || [];
  if (!files.length) return null;
  return h("ul", { class: "attachment-list", "aria-label": "Attachments" },
    files.map((att) => h("li", {}, isImage(att) ? thumbnail(att, headers) : fileLink(att, headers))));
}

const baseType = (att) => (att.content_type || "").split(";")[0].trim().toLowerCase();
const isImage = (att) => PREVIEW.has(baseType(att));
const label = (att) => `${att.filename} · ${formatSize(att.size)}`;

function thumbnail(att, headers) {
  const img = h("img", { class: "thumb", alt: att.filename });
  const link = h("a", { class: "thumb-link loading", target: "_blank", rel: "noopener", title: `${label(att)} (opens full size)` }, img);
  img.addEventListener("load", () => link.classList.remove("loading"));
  img.addEventListener("error", () => link.replaceWith(fileLink(att, headers)));
  if (!headers) {
    link.href = att.url;
    img.src = att.url;
    return link;
  }
  viaBlob(link, att, headers);
  // The page's CSP allows data: images but not blob: ones, so the thumbnail
  // is a data URL; the link opens the blob (a navigation, which CSP allows).
  load(att, headers)
    .then(async ({ blob, href }) => { link.href = href; img.src = await dataUrl(blob); })
    .catch(() => link.replaceWith(fileLink(att, headers)));
  return link;
}

function fileLink(att, headers) {
  const a = h("a", { class: "file-link", href: att.url, download: att.filename, title: `Download ${att.filename}` },
    h("span", { class: "name" }, att.filename), h("span", { class: "size" }, ` · ${formatSize(att.size)}`));
  if (headers) viaBlob(a, att, headers);
  return a;
}

/** The link's own URL needs the Authorization header, which a click cannot
 * send: fetch the bytes first, point the link at them, then follow it. */
function viaBlob(a, att, headers) {
  const follow = async (e) => {
    if (live.has(a.href)) return; // fetched already: the browser takes it from here
    e.preventDefault();
    if (a.classList.contains("fetching")) return;
    a.classList.add("fetching");
    try {
      a.href = (await load(att, headers)).href;
      a.click();
    } catch (err) {
      toast(`Could not get ${att.filename}: ${err.message}`);
    } finally {
      a.classList.remove("fetching");
    }
  };
  a.addEventListener("click", follow);
  a.addEventListener("auxclick", (e) => { if (e.button === 1) follow(e); });
}

// Fetched files, by URL (an attachment never changes), least recently used
// first; past the budget the oldest are released.
const BUDGET = 64 * 1024 * 1024;
const cache = new Map();
const live = new Set();
let cached = 0;

function load(att, headers) {
  let entry = cache.get(att.url);
  if (entry) {
    cache.delete(att.url);
  } else {
    entry = { size: att.size || 0 };
    entry.promise = fetchBlob(att.url, headers).then((raw) => {
      // Only previewable images keep a type: any other file, opened by
      // accident, downloads instead of rendering as a page of this site.
      const blob = new Blob([raw], { type: isImage(att) ? baseType(att) : "application/octet-stream" });
      const href = URL.createObjectURL(blob);
      live.add(href);
      return { blob, href };
    });
    entry.promise.catch(() => {
      if (cache.get(att.url) === entry) { cache.delete(att.url); cached -= entry.size; }
    });
    cached += entry.size;
  }
  cache.set(att.url, entry);
  for (const [url, old] of cache) {
    if (cached <= BUDGET || url === att.url) break;
    cache.delete(url);
    cached -= old.size;
    old.promise.then(({ href }) => { live.delete(href); URL.revokeObjectURL(href); }, () => {});
  }
  return entry.promise;
}

async function fetchBlob(url, headers) {
  const get = () => fetch(url, { headers: headerValues(headers), credentials: "same-origin" });
  let res = await get();
  if (res.status === 401 && typeof headers === "function" && (await refresh())) res = await get();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.blob();
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
