// tg-test-server.cjs — a Telegram Bot API emulator for the tests, on loopback.
// Wraps npm telegram-test-api@4.2.1 (MIT; express) for the user side and replaces the bot
// side of what the Telegram channel uses, closer to the real Bot API:
//   PORT=18766 node tg-test-server.cjs   → prints  READY {"apiURL":"http://127.0.0.1:18766"}
// PORT must be a concrete port (the package turns 0 into 9000).
//
// Bot side ({apiURL}/bot<TOKEN>/<method>):
//   getMe (with is_bot), getUpdates honouring offset and limit (updates below the offset are
//   confirmed and dropped, as the Bot API does; timeout is ignored: it answers at once),
//   sendMessage / editMessageText returning real Messages, checking parse_mode=HTML the way
//   Telegram does (400 "can't parse entities") and the 4,096-character limit, deleteMessage,
//   getFile and /file/bot<TOKEN>/<path> for photos, sendChatAction and other no-ops.
// Faults, scripted per token and method (POST {apiURL}/__test/fault):
//   {"token","method","kind":"429","retryAfter":2} | {"kind":"409"} | {"kind":"entities"}
//   | {"kind":"500"}, "count": N (default 1).
// User side (the test playing people): POST {apiURL}/sendMessage with a Message-like body
//   incl. "botToken" (the package's); POST {apiURL}/__test/chat {"token","chatId"} → every
//   message the bot sent there ("at": when, in ms), its "edits" (each earlier version and
//   when it was replaced) and whether it was deleted;
//   POST {apiURL}/__test/calls {"token"} → how often each bot method was called, and when;
//   POST {apiURL}/__test/file {"token","fileId","base64","path"} → a file getFile serves;
//   POST {apiURL}/__test/webhook {"token"} → the webhook set, and each delivery's HTTP status.
// setWebhook / deleteWebhook work as the Bot API's: with a webhook set, a person's message is
// POSTed to it (with X-Telegram-Bot-Api-Secret-Token) and getUpdates answers 409.
const routes = require('telegram-test-api/lib/routes/index').routes;
const TelegramServer = require('telegram-test-api');

const BOT = { id: 666, is_bot: true, first_name: 'Test Bot', username: 'TestNameBot' };
const OK_METHODS = ['sendChatAction', 'setMyCommands', 'deleteMyCommands', 'setMyDescription',
  'setMyShortDescription', 'setChatMenuButton', 'close', 'logOut'];

const faults = {}; // token → method → [fault]
const calls = {}; // token → method → [ms]
const chats = {}; // token → chatId → [{message_id, text, parse_mode, edits, deleted, date}]
const files = {}; // token → file_id → {path, bytes}
const hooks = {}; // token → {url, secret}; deliveries → [{update_id, status}]
const deliveries = {};
let messageId = 100000;

function record(token, method) {
  calls[token] = calls[token] || {};
  (calls[token][method] = calls[token][method] || []).push(Date.now());
}

function takeFault(token, method) {
  const queue = (faults[token] || {})[method];
  if (!queue || !queue.length) return null;
  const fault = queue[0];
  fault.count -= 1;
  if (fault.count <= 0) queue.shift();
  return fault;
}

function fail(res, code, description, parameters) {
  const body = { ok: false, error_code: code, description };
  if (parameters) body.parameters = parameters;
  res.status(code).json(body);
}

function faulted(req, res, method) {
  const fault = takeFault(req.params.token, method);
  if (!fault) return false;
  if (fault.kind === '429') {
    const after = Number(fault.retryAfter || 1);
    fail(res, 429, `Too Many Requests: retry after ${after}`, { retry_after: after });
  } else if (fault.kind === '409') {
    fail(res, 409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
  } else if (fault.kind === 'entities') {
    fail(res, 400, "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0");
  } else {
    fail(res, 500, 'Internal Server Error');
  }
  return true;
}

// Telegram's HTML: these tags only, balanced; & < > escaped; entities named or numeric.
const TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span',
  'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);
const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"' };

function parseHtml(text) {
  const stack = [];
  let plain = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '<') {
      const end = text.indexOf('>', i);
      if (end < 0) return { error: `Can't find end of the tag at byte offset ${i}` };
      const inner = text.slice(i + 1, end).trim();
      const closing = inner.startsWith('/');
      const name = (closing ? inner.slice(1) : inner).split(/\s/)[0].toLowerCase();
      if (!TAGS.has(name)) return { error: `Unsupported start tag "${name}" at byte offset ${i}` };
      if (closing) {
        if (stack.pop() !== name) return { error: `Unmatched end tag at byte offset ${i}, expected "</${stack[stack.length - 1] || ''}>", found "</${name}>"` };
      } else {
        stack.push(name);
      }
      i = end + 1;
    } else if (c === '&') {
      const m = /^&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/.exec(text.slice(i));
      if (!m) return { error: `Character '&' is reserved and must be escaped with the preceding '\\'` };
      const name = m[1];
      if (name.startsWith('#x')) plain += String.fromCodePoint(parseInt(name.slice(2), 16));
      else if (name.startsWith('#')) plain += String.fromCodePoint(parseInt(name.slice(1), 10));
      else if (name in ENTITIES) plain += ENTITIES[name];
      else return { error: `Unsupported HTML entity "&${name};" at byte offset ${i}` };
      i += m[0].length;
    } else if (c === '>') {
      return { error: `Character '>' is reserved at byte offset ${i}` };
    } else {
      plain += c;
      i += 1;
    }
  }
  if (stack.length) return { error: `Can't find end tag corresponding to start tag "${stack[stack.length - 1]}"` };
  return { plain };
}

// What Telegram would show, or the 400 it answers.
function visible(body) {
  const text = String(body.text ?? '');
  let shown = text;
  if (String(body.parse_mode || '').toUpperCase() === 'HTML') {
    const parsed = parseHtml(text);
    if (parsed.error) return { error: `Bad Request: can't parse entities: ${parsed.error}` };
    shown = parsed.plain;
  }
  if (!shown.trim()) return { error: 'Bad Request: message text is empty' };
  if (shown.length > 4096) return { error: 'Bad Request: message is too long' };
  return { shown };
}

// Bot API 7.0: reply_parameters (JSON) replaced reply_to_message_id; either is read.
function replyTo(body) {
  let params = body.reply_parameters;
  if (typeof params === 'string') params = JSON.parse(params);
  const id = (params && params.message_id) || body.reply_to_message_id;
  return id ? Number(id) : null;
}

function chatOf(token, chatId) {
  chats[token] = chats[token] || {};
  return (chats[token][String(chatId)] = chats[token][String(chatId)] || []);
}

function message(entry, chatId) {
  const id = Number(chatId);
  return {
    message_id: entry.message_id, date: entry.date, from: BOT, text: entry.shown,
    chat: id < 0 ? { id, type: 'supergroup', title: 'Group' } : { id, type: 'private', first_name: 'User' },
  };
}

let server;

// Webhooks as the Bot API sends them: the update as the JSON body, the secret_token given to
// setWebhook in X-Telegram-Bot-Api-Secret-Token (the package sends neither header).
const addUserUpdate = TelegramServer.prototype.addUserUpdate;
TelegramServer.prototype.addUserUpdate = async function withHook(update) {
  const hook = hooks[update.botToken];
  if (!hook) return addUserUpdate.call(this, update);
  const body = TelegramServer.formatUpdate(update);
  this.updateId += 1;
  const headers = { 'content-type': 'application/json' };
  if (hook.secret) headers['X-Telegram-Bot-Api-Secret-Token'] = hook.secret;
  let status = 0;
  try {
    status = (await fetch(hook.url, { method: 'POST', headers, body: JSON.stringify(body) })).status;
  } catch (e) { status = -1; }
  (deliveries[update.botToken] = deliveries[update.botToken] || []).push({ update_id: body.update_id, status });
  return undefined;
};

routes.unshift((app) => {
  app.use('/bot:token/:method', (req, res, next) => {
    record(req.params.token, req.params.method);
    next();
  });
  app.all('/bot:token/getMe', (req, res) => res.json({ ok: true, result: {
    ...BOT, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false,
  } }));
  app.all('/bot:token/getMyCommands', (req, res) => res.json({ ok: true, result: [] }));
  app.all('/bot:token/getWebhookInfo', (req, res) => res.json({ ok: true, result: {
    url: '', has_custom_certificate: false, pending_update_count: 0 } }));
  for (const m of OK_METHODS) {
    app.all(`/bot:token/${m}`, (req, res) => {
      if (!faulted(req, res, m)) res.json({ ok: true, result: true });
    });
  }
  app.all('/bot:token/setWebhook', (req, res) => {
    const url = req.body.url || req.query.url;
    if (!url) { fail(res, 400, 'Bad Request: bad webhook: An HTTP URL must be provided for webhook'); return; }
    hooks[req.params.token] = { url, secret: req.body.secret_token || null };
    res.json({ ok: true, result: true, description: 'Webhook was set' });
  });
  app.all('/bot:token/deleteWebhook', (req, res) => {
    delete hooks[req.params.token];
    res.json({ ok: true, result: true, description: 'Webhook was deleted' });
  });
  app.all('/bot:token/getUpdates', (req, res) => {
    const token = req.params.token;
    if (faulted(req, res, 'getUpdates')) return;
    if (hooks[token]) {
      fail(res, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
      return;
    }
    const offset = Number(req.body.offset || req.query.offset || 0);
    const limit = Number(req.body.limit || req.query.limit || 100);
    const mine = (u) => u.botToken === token;
    if (offset > 0) {
      server.storage.userMessages = server.storage.userMessages.filter((u) => !mine(u) || u.updateId >= offset);
    }
    const updates = server.storage.userMessages.filter(mine).slice(0, limit);
    res.json({ ok: true, result: updates.map((u) => TelegramServer.formatUpdate(u)) });
  });
  app.all('/bot:token/sendMessage', (req, res) => {
    const token = req.params.token;
    if (faulted(req, res, 'sendMessage')) return;
    const seen = visible(req.body);
    if (seen.error) { fail(res, 400, seen.error); return; }
    const entry = {
      message_id: (messageId += 1), text: String(req.body.text), parse_mode: req.body.parse_mode || null,
      shown: seen.shown, edits: [], deleted: false, date: Math.floor(Date.now() / 1000), at: Date.now(),
      reply_to: replyTo(req.body),
      thread: req.body.message_thread_id ? Number(req.body.message_thread_id) : null,
    };
    chatOf(token, req.body.chat_id).push(entry);
    server.addBotMessage({ ...req.body }, token); // the package's user-side view
    res.json({ ok: true, result: message(entry, req.body.chat_id) });
  });
  app.all('/bot:token/editMessageText', (req, res) => {
    const token = req.params.token;
    if (faulted(req, res, 'editMessageText')) return;
    const entry = chatOf(token, req.body.chat_id).find((m) => m.message_id === Number(req.body.message_id));
    if (!entry || entry.deleted) { fail(res, 400, 'Bad Request: message to edit not found'); return; }
    const seen = visible(req.body);
    if (seen.error) { fail(res, 400, seen.error); return; }
    const mode = req.body.parse_mode || null;
    if (entry.text === String(req.body.text) && entry.parse_mode === mode) {
      fail(res, 400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
      return;
    }
    entry.edits.push({ text: entry.text, parse_mode: entry.parse_mode, at: Date.now() });
    Object.assign(entry, { text: String(req.body.text), parse_mode: mode, shown: seen.shown });
    res.json({ ok: true, result: message(entry, req.body.chat_id) });
  });
  app.all('/bot:token/deleteMessage', (req, res) => {
    const entry = chatOf(req.params.token, req.body.chat_id).find((m) => m.message_id === Number(req.body.message_id));
    if (!entry || entry.deleted) { fail(res, 400, 'Bad Request: message to delete not found'); return; }
    entry.deleted = true;
    res.json({ ok: true, result: true });
  });
  app.all('/bot:token/getFile', (req, res) => {
    const file = (files[req.params.token] || {})[req.body.file_id];
    if (!file) { fail(res, 400, 'Bad Request: invalid file_id'); return; }
    res.json({ ok: true, result: { file_id: req.body.file_id, file_unique_id: req.body.file_id, file_size: file.bytes.length, file_path: file.path } });
  });
  app.get('/file/bot:token/*', (req, res) => {
    const wanted = req.params[0];
    const file = Object.values(files[req.params.token] || {}).find((f) => f.path === wanted);
    if (!file) { res.status(404).end(); return; }
    res.type('application/octet-stream').send(file.bytes);
  });
  app.post('/__test/fault', (req, res) => {
    const { token, method, kind } = req.body;
    faults[token] = faults[token] || {};
    (faults[token][method] = faults[token][method] || []).push({
      kind: String(kind), retryAfter: req.body.retryAfter, count: Number(req.body.count || 1) });
    res.json({ ok: true });
  });
  app.post('/__test/chat', (req, res) => res.json({ ok: true, result: chatOf(req.body.token, req.body.chatId) }));
  app.post('/__test/calls', (req, res) => res.json({ ok: true, result: calls[req.body.token] || {} }));
  app.post('/__test/webhook', (req, res) => res.json({ ok: true, result: {
    hook: hooks[req.body.token] ? { url: hooks[req.body.token].url, hasSecret: !!hooks[req.body.token].secret } : null,
    deliveries: deliveries[req.body.token] || [] } }));
  app.post('/__test/file', (req, res) => {
    const { token, fileId, path } = req.body;
    files[token] = files[token] || {};
    files[token][fileId] = { path, bytes: Buffer.from(req.body.base64, 'base64') };
    res.json({ ok: true });
  });
});

(async () => {
  server = new TelegramServer({ port: Number(process.env.PORT || 9000), host: '127.0.0.1', storeTimeout: 600 });
  // express.json's default 100 kB is too little for a photo in base64.
  await server.start();
  process.stdout.write(`READY ${JSON.stringify({ apiURL: server.config.apiURL })}\n`);
  const stop = async () => { await server.stop(); process.exit(0); };
  process.on('SIGTERM', stop); process.on('SIGINT', stop);
})();
