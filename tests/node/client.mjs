#!/usr/bin/env node
// Drives the real Node mail clients (imapflow, nodemailer) against tokenmail for the e2e tests
// in tests/e2e/test_node_clients.py. One command per run; the result is one JSON line on
// stdout (imap-idle first prints a `{"ready": true, ...}` line once it is idling).
//
//   node client.mjs COMMAND --host 127.0.0.1 --port N --user U --token T --ca PEM
//        [--secure | --starttls] [--local-address A] [--timeout S] [--transcript] ...
//
//   imap-list                                   log in, LIST; mailboxes with specialUse, flags
//   imap-append --file F [--mailbox M] [--flags '\Flagged,\Seen'] [--date RFC2822-or-ISO]
//   imap-fetch  [--mailbox M] [--uid N]         every message (or UID N): envelope, flags,
//                                               bodyStructure, headers, source (base64)
//   imap-idle   [--mailbox M] [--wait S]        open M, IDLE, wait for the first `exists`
//   imap-sync   [--wait S]                      two devices on one INBOX: A syncs (CONDSTORE,
//                                               QRESYNC) and idles while B flags, moves, deletes
//                                               and appends; A leaves and resyncs with QRESYNC
//   smtp-send   --from A --to B[,C] --subject S [--text T] [--message-id ID]
//
// --secure is implicit TLS (the default), --starttls is the cleartext port upgraded with
// STARTTLS (required). On failure the JSON line is {"ok": false, "error": {...}} and the exit
// status is 2 (3 when --timeout passed first). The transcript (--transcript, or always on
// failure) is the client's own log of what went over the wire; it never holds the token.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';

const { values: opt, positionals } = parseArgs({
    allowPositionals: true,
    options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string' },
        user: { type: 'string' },
        token: { type: 'string' },
        ca: { type: 'string' },
        secure: { type: 'boolean', default: false },
        starttls: { type: 'boolean', default: false },
        'local-address': { type: 'string' },
        timeout: { type: 'string', default: '15' },
        transcript: { type: 'boolean', default: false },
        mailbox: { type: 'string', default: 'INBOX' },
        file: { type: 'string' },
        flags: { type: 'string' },
        date: { type: 'string' },
        uid: { type: 'string' },
        wait: { type: 'string', default: '5' },
        from: { type: 'string' },
        to: { type: 'string' },
        subject: { type: 'string', default: '' },
        text: { type: 'string', default: '' },
        'message-id': { type: 'string' }
    }
});

const command = positionals[0];
const transcript = [];
let finished = false;

function emit(obj) {
    process.stdout.write(JSON.stringify(obj, jsonReplacer) + '\n');
}

function jsonReplacer(_key, value) {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Set) return [...value];
    if (value instanceof Map) return Object.fromEntries(value);
    if (Buffer.isBuffer(value)) return value.toString('base64');
    return value;
}

function finish(obj, code = 0) {
    if (finished) return;
    finished = true;
    emit(obj);
    // stdout is a pipe: let it drain before leaving
    process.stdout.write('', () => process.exit(code));
}

function fail(err, code = 2) {
    const error = {
        name: err?.name,
        message: err?.message ?? String(err),
        code: err?.code,
        responseCode: err?.responseCode,
        response: err?.response,
        command: err?.command,
        authenticationFailed: err?.authenticationFailed,
        serverResponseCode: err?.serverResponseCode,
        serverResponse: err?.serverResponse,
        oauthError: err?.oauthError
    };
    finish({ ok: false, command, error, transcript }, code);
}

function need(name) {
    if (!opt[name]) throw new Error(`--${name} is required for ${command}`);
    return opt[name];
}

// A log sink for both clients: keeps what went over the wire, hides nothing more than they do
// (both already replace credentials with placeholders).
function record(level, entry, args) {
    if (entry && typeof entry === 'object') {
        const { src, msg, tnx, comment } = entry;
        let text = msg;
        if (args && args.length) {
            let i = 0;
            text = String(msg).replace(/%[sdj]/g, () => {
                const a = args[i++];
                return typeof a === 'string' ? a : JSON.stringify(a);
            });
        }
        if (src === 'c' || src === 's' || tnx === 'client' || tnx === 'server') {
            transcript.push(`${src === 's' || tnx === 'server' ? 'S' : 'C'}: ${text}${comment ? ` (${comment})` : ''}`);
        } else if (level !== 'trace' && level !== 'debug') {
            const err = entry.err ? `${entry.err.message ?? entry.err}` : '';
            transcript.push(`${level}: ${[text, err].filter(Boolean).join(' ')}`);
        }
    }
}

const imapLogger = {
    trace: e => record('trace', e),
    debug: e => record('debug', e),
    info: e => record('info', e),
    warn: e => record('warn', e),
    error: e => record('error', e),
    fatal: e => record('fatal', e)
};

// nodemailer's logger: (entry, message, ...args)
const smtpLogger = Object.fromEntries(
    ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map(level => [
        level,
        (entry, message, ...args) => record(level, { ...entry, msg: message }, args)
    ])
);

function tlsOptions() {
    const tls = { ca: readFileSync(need('ca')) };
    if (opt['local-address']) tls.localAddress = opt['local-address'];
    return tls;
}

// -- IMAP (imapflow) --------------------------------------------------------------------------

async function imapConnect(extra = {}) {
    const client = new ImapFlow({
        ...extra,
        host: opt.host,
        port: Number(need('port')),
        secure: !opt.starttls,
        doSTARTTLS: opt.starttls ? true : undefined,
        auth: { user: need('user'), accessToken: need('token') },
        tls: tlsOptions(),
        logger: imapLogger,
        disableAutoIdle: true,
        connectionTimeout: 8000,
        greetingTimeout: 8000,
        socketTimeout: 30000
    });
    // an 'error' event without a listener would crash the process instead of reporting
    client.on('error', err => fail(err));
    await client.connect();
    return client;
}

function session(client) {
    const mechanisms = [...client.authCapabilities.keys()].filter(k => client.authCapabilities.get(k));
    return {
        secure: !!client.secureConnection,
        tls: client.tls ? { version: client.tls.version, authorized: client.tls.authorized } : false,
        authenticated: client.authenticated,
        mechanisms,
        capabilities: [...client.capabilities.keys()]
    };
}

async function imapList() {
    const client = await imapConnect();
    const list = await client.list();
    const mailboxes = list.map(m => ({
        path: m.path,
        specialUse: m.specialUse ?? null,
        flags: [...m.flags]
    }));
    const info = session(client);
    await client.logout();
    return { ...info, mailboxes };
}

async function imapAppend() {
    const client = await imapConnect();
    const content = readFileSync(need('file'));
    const flags = opt.flags ? opt.flags.split(',').filter(Boolean) : undefined;
    const date = opt.date ? new Date(opt.date) : undefined;
    const res = await client.append(opt.mailbox, content, flags, date);
    if (!res) throw new Error('APPEND returned nothing');
    const info = session(client);
    await client.logout();
    return { ...info, append: res };
}

async function imapFetch() {
    const client = await imapConnect();
    const mailbox = await client.mailboxOpen(opt.mailbox, { readOnly: true });
    const messages = [];
    if (mailbox.exists > 0) {
        const range = opt.uid ? opt.uid : '1:*';
        for await (const m of client.fetch(
            range,
            {
                uid: true,
                flags: true,
                envelope: true,
                bodyStructure: true,
                internalDate: true,
                size: true,
                source: true,
                headers: true
            },
            { uid: !!opt.uid }
        )) {
            messages.push({
                seq: m.seq,
                uid: m.uid,
                flags: [...(m.flags || [])],
                size: m.size,
                internalDate: m.internalDate instanceof Date ? m.internalDate.toISOString() : m.internalDate,
                envelope: m.envelope,
                bodyStructure: m.bodyStructure,
                headers: m.headers ? m.headers.toString('utf8') : null,
                source: m.source ? m.source.toString('base64') : null
            });
        }
    }
    const info = session(client);
    await client.logout();
    return {
        ...info,
        mailbox: { path: mailbox.path, exists: mailbox.exists, uidValidity: mailbox.uidValidity, uidNext: mailbox.uidNext },
        messages
    };
}

async function imapIdle() {
    const client = await imapConnect();
    const mailbox = await client.mailboxOpen(opt.mailbox);
    const waitMs = Number(opt.wait) * 1000;
    const event = new Promise(resolve => {
        client.on('exists', data => resolve({ ...data, t: Date.now() }));
    });
    // idle() resolves only when IDLE ends; the 'exists' event comes while it runs
    const idling = client.idle().catch(err => fail(err));
    // wait until the IDLE command is on the wire and the server answered "+"
    const started = Date.now();
    while (!client.idling && Date.now() - started < 5000) {
        await new Promise(r => setTimeout(r, 10));
    }
    if (!client.idling) throw new Error('IDLE did not start');
    emit({ ready: true, exists: mailbox.exists, t: Date.now() });
    const got = await Promise.race([event, new Promise(r => setTimeout(() => r(null), waitMs))]);
    const info = session(client);
    // logout() ends IDLE with DONE first
    await client.logout();
    await idling;
    if (!got) throw Object.assign(new Error(`no exists event within ${opt.wait}s`), { code: 'NoEvent' });
    const idleSent = transcript.some(line => /^C: \S+ IDLE\b/.test(line));
    return { ...info, event: got, idleSent, startedExists: mailbox.exists };
}

// A whole sync session as a phone and a laptop would make it. Device A (QRESYNC) opens INBOX,
// fetches UIDs, flags and MODSEQs, then idles; device B flags the first message, moves the
// second to Archive, deletes the third and appends a new one; A records what IDLE reported,
// logs out, and resyncs from its saved UIDVALIDITY and HIGHESTMODSEQ with one QRESYNC SELECT
// plus a CHANGEDSINCE fetch.
async function imapSync() {
    const waitMs = Number(opt.wait) * 1000;
    const a = await imapConnect({ qresync: true });
    const opened = await a.mailboxOpen('INBOX');
    const before = [];
    for await (const m of a.fetch('1:*', { uid: true, flags: true, modseq: true })) {
        before.push({ uid: m.uid, flags: [...m.flags], modseq: m.modseq });
    }
    const state = { uidValidity: opened.uidValidity, highestModseq: opened.highestModseq };
    const idleEvents = [];
    a.on('exists', d => idleEvents.push({ type: 'exists', count: d.count }));
    a.on('expunge', d => idleEvents.push({ type: 'expunge', uid: d.uid, seq: d.seq, vanished: d.vanished }));
    a.on('flags', d => idleEvents.push({ type: 'flags', uid: d.uid, seq: d.seq, flags: [...d.flags], modseq: d.modseq }));
    const idling = a.idle().catch(err => fail(err));
    const t0 = Date.now();
    while (!a.idling && Date.now() - t0 < 5000) await new Promise(r => setTimeout(r, 10));
    if (!a.idling) throw new Error('IDLE did not start');

    const b = await imapConnect();
    await b.mailboxOpen('INBOX');
    const [first, second, third] = before.map(m => m.uid);
    await b.messageFlagsAdd(String(first), ['\\Flagged'], { uid: true });
    const moved = await b.messageMove(String(second), 'Archive', { uid: true });
    await b.messageDelete(String(third), { uid: true });
    const appended = await b.append('INBOX', Buffer.from('From: b@example.test\r\nSubject: new\r\n\r\nnew\r\n'));
    await b.logout();

    // IDLE hears of all of it without a command.
    const deadline = Date.now() + waitMs;
    const heard = () => idleEvents.some(e => e.type === 'exists')
        && idleEvents.filter(e => e.type === 'expunge').length >= 2
        && idleEvents.some(e => e.type === 'flags');
    while (!heard() && Date.now() < deadline) await new Promise(r => setTimeout(r, 20));
    await a.logout();
    await idling;

    const c = await imapConnect({ qresync: true });
    const resyncEvents = [];
    c.on('expunge', d => resyncEvents.push({ type: 'expunge', uid: d.uid, vanished: d.vanished, earlier: d.earlier }));
    c.on('flags', d => resyncEvents.push({ type: 'flags', uid: d.uid, flags: [...d.flags], modseq: d.modseq }));
    const reopened = await c.mailboxOpen('INBOX', { uidValidity: state.uidValidity, changedSince: state.highestModseq });
    const changed = [];
    for await (const m of c.fetch('1:*', { uid: true, flags: true }, { uid: true, changedSince: state.highestModseq })) {
        changed.push({ uid: m.uid, flags: [...m.flags], modseq: m.modseq });
    }
    const after = [];
    for await (const m of c.fetch('1:*', { uid: true, flags: true })) {
        after.push({ uid: m.uid, flags: [...m.flags] });
    }
    const enabled = [...c.enabled];
    await c.logout();
    return {
        state, before, idleEvents, moved, appended,
        resync: { qresync: !!reopened.qresync, exists: reopened.exists, events: resyncEvents, changed },
        after, enabled
    };
}

// -- SMTP (nodemailer) ------------------------------------------------------------------------

async function smtpSend() {
    const transport = nodemailer.createTransport({
        host: opt.host,
        port: Number(need('port')),
        secure: !opt.starttls,
        requireTLS: opt.starttls,
        auth: { type: 'OAuth2', user: need('user'), accessToken: need('token') },
        tls: tlsOptions(),
        localAddress: opt['local-address'],
        name: 'node-client.example.test',
        logger: smtpLogger,
        debug: true,
        connectionTimeout: 8000,
        greetingTimeout: 8000,
        socketTimeout: 15000
    });
    const message = {
        from: need('from'),
        to: need('to').split(','),
        subject: opt.subject,
        text: opt.text
    };
    if (opt['message-id']) message.messageId = opt['message-id'];
    const info = await transport.sendMail(message);
    transport.close();
    return {
        messageId: info.messageId,
        response: info.response,
        accepted: info.accepted,
        rejected: info.rejected,
        envelope: info.envelope,
        t: Date.now()
    };
}

const commands = {
    'imap-list': imapList,
    'imap-append': imapAppend,
    'imap-fetch': imapFetch,
    'imap-idle': imapIdle,
    'imap-sync': imapSync,
    'smtp-send': smtpSend
};

process.on('unhandledRejection', err => fail(err));
process.on('uncaughtException', err => fail(err));

if (!commands[command]) {
    fail(new Error(`unknown command ${JSON.stringify(command)}; one of ${Object.keys(commands).join(', ')}`));
} else {
    const timer = setTimeout(() => {
        fail(Object.assign(new Error(`timed out after ${opt.timeout}s`), { code: 'TIMEOUT' }), 3);
    }, Number(opt.timeout) * 1000);
    timer.unref();
    try {
        const result = await commands[command]();
        finish({ ok: true, command, ...result, ...(opt.transcript ? { transcript } : {}) });
    } catch (err) {
        fail(err);
    }
}
