"""Deterministic test mail for scripts/bench-imap.

`generate(dir, n, seed)` writes `n` RFC 5322 messages (CRLF line ends) into
`dir/messages.bin` with an index (offsets, flags, internal dates) and a
`meta.json` that records what the searches must find. Every message is a
function of (seed, index) only, so a given seed gives the same bytes on
every machine and Python >= 3.9 (random.Random's seeded sequences for
random(), randrange(), choice() and randbytes() are stable).

The mix: 55 % text/plain, 30 % multipart/alternative (text + HTML), 15 %
multipart/mixed with one or two small base64 attachments; about 0.3 % carry a
large attachment (64 KB-1 MB). Text bodies are 1.5-17 KB (log-uniform), so
most messages are 2-20 KB. Some senders have MIME encoded-word names and
subjects, some bodies are UTF-8 (8bit), about 30 % are replies with
In-Reply-To/References and quoted text, about 10 % carry an Outlook-style
Thread-Topic header.

Search words (chosen so that no other generated text contains them, and
placed only in unencoded text, so that a server that decodes transfer
encodings and encoded words (Dovecot) and one that matches raw bytes
(tokenmail today) must find the same messages):

- TEXT_WORD "kumquat" in the body of ~3 % of messages (both parts of an
  alternative) and in the subject of ~0.4 %: `UID SEARCH TEXT kumquat`.
- SUBJECT_WORD "reconciliation" in the subject of ~2 %; also in the body of
  ~1 % and in the Thread-Topic header of ~0.3 % of messages whose subject
  lacks it, which `UID SEARCH HEADER Subject reconciliation` must not match.
"""

from __future__ import annotations

import array
import base64
import hashlib
import html
import json
import math
import mmap
import os
import random
import re
import time
from pathlib import Path

VERSION = 4
TEXT_WORD = "kumquat"
SUBJECT_WORD = "reconciliation"

# Facts stored in the index (one byte per message): where the search words are.
HAS_TEXT_WORD, HAS_SUBJECT_WORD = 1, 2

# Flag bits stored in the index (one byte per message).
SEEN, ANSWERED, FLAGGED, DRAFT = 1, 2, 4, 8
FLAG_NAMES = [(SEEN, "\\Seen"), (ANSWERED, "\\Answered"), (FLAGGED, "\\Flagged"), (DRAFT, "\\Draft")]

WORDS = """
a about above account action actually add address after again against agenda agree
ahead all allow almost already also although always amount an analysis and another
answer any anyone anything app approval approve april are area around article as ask
assume at attach attached august available away back backlog balance bank based be
because been before behind being below best better between beyond big bill board body
both branch break brief bring budget build bundle business but buy by calendar call
can cannot capacity card care case catch cause change chapter check choose claim clear
client close code colleague come comment commit common company complete concern
confirm contact content context continue contract copy correct cost could count
course cover create credit current customer cycle daily data date day deadline deal
dear december decide decision default define delay deliver delivery demo depend deploy
design detail develop device did different direct discuss document does done down
draft due during each early easy edit effort either else email end enough ensure entry
error estimate even event every exact example expect expense explain extra fact fall
february feedback few field figure file final finance find fine first fix floor follow
for forecast form forward free friday from full function further future gap general
get give goal going good great group guess had half handle happen hard has have he
head hear help here high hold holiday home hope hour how however idea if impact import
important in include increase index initial input instead into invoice issue it item
its january job join july june just keep key kind know label large last late later
launch lead learn least leave legal less let letter level library like limit line list
little live load local lock long look loop lot low made main make manage manager many
march market matter may maybe meet meeting member memo message method might milestone
minor minute missing model monday money month more morning most move much must name
need network never new next nice night no none normal not note nothing notice november
now number object october of off offer office often ok old on once one only open
option or order other our out output over owner page paper part party pass past patch
pay people per period person phone pick plan please point policy poll possible post
prefer prepare present price print priority probably problem process product project
proposal provide public pull purchase push put quality quarter question quick quite
raise range rate rather reach read ready real reason receipt receive recent record
reduce refer region release remind remote remove renew reply report request require
research reserve resolve resource response rest result review right risk road role
room round rule run safe said sale same saturday save say schedule scope screen second
section see seem send senior september server service session set setup share sheet
short should show side sign simple since site size slide small so some someone
something soon sorry source space speak spend split staff stage start state status
step still stock stop store story strategy strong subject submit such suggest summary
sunday supply support sure system table take talk target task team tell term test
than thank thanks that the their them then there these they thing think this those
though thought through thursday ticket time timeline to today together tomorrow too
tool top topic total track travel trial true try tuesday turn under unit until up
update upgrade upon urgent us use user usual value vendor version very via view visit
wait want was way we wednesday week weekly well were what when where whether which
while who whole why will window with within without word work world would write year
yes yet you your
""".split()

UTF8_WORDS = ["café", "déjà", "naïve", "Zürich", "Straße", "São", "Paulo", "Málaga",
              "façade", "crème", "résumé", "Ångström", "Kraków", "Øresund", "niño"]

FIRST = """Anna Ben Carla David Elena Farid Greta Hiro Ines Jonas Kira Lars Maria Nadia Omar
Paula Quentin Rosa Sami Tara Ugo Vera Wim Xenia Yusuf Zoe Aaron Bianca Chen Dmitri Eva
Felix Gina Hana Igor Julia Karl Lena Marek Nina Oscar Pia Rafael Sofia Tomas Ulla Victor
Wanda Yara Zeno""".split()
LAST = """Adams Becker Costa Dubois Eriksen Fischer Garcia Horvat Ito Jensen Kowalski Lopez
Martin Novak Olsen Petrov Quinn Rossi Silva Tanaka Ulrich Varga Weber Xu Young Zimmer
Andersen Bauer Clarke Dimitrov Evans Ferreira Gomez Hansen Ivanova Janssen Keller Lind
Moreau Nagy""".split()
UTF8_NAMES = ["José Núñez", "Zoë Müller", "Łukasz Wiśniewski", "Søren Kjærgaard",
              "François Lefèvre", "Ayşe Yılmaz", "Jürgen Groß", "Inés Peña"]
DOMAINS = """example.com example.org example.net corp.example.test mail.example.test
partners.example lists.example.org ops.example.com sales.example.net hr.example.com
vendor.example billing.example.org research.example.edu""".split()
TOPICS = """budget forecast invoice contract release roadmap meeting agenda report review
proposal deployment migration onboarding offsite workshop audit survey newsletter
backlog incident renewal pricing hiring training launch""".split()
SUBJECT_TEMPLATES = [
    "{Topic} for {month}", "{Topic} review: {w1} {w2}", "Weekly {topic} update",
    "Question about the {topic}", "{Topic} draft v{n}", "Action needed: {topic} {w1}",
    "{Topic} notes ({day})", "Updated {topic} and {w1} plan", "{w1} {w2} {topic}",
    "Invitation: {Topic} @ {day} {hour}:00", "Re-scheduling the {topic}",
    "[{list}] {Topic} {w1}", "FYI: {w1} {topic}", "{Topic} #{n}{n}{n}",
]
UTF8_SUBJECTS = ["Réunion d'équipe", "Résumé du projet", "Überblick Quartal",
                 "Przegląd budżetu", "Προσφορά", "会议纪要", "Встреча в четверг"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
ZONES = [0, 0, 60, 60, 120, -300, -240, -420, 330, 540, 600, -180]
MAILERS = ["Mozilla Thunderbird 115.6", "Microsoft Outlook 16.0", "Apple Mail (2.3774)",
           "Roundcube Webmail/1.6.5", "K-9 Mail 6.7", "aerc 0.17.0"]
ATTACHMENTS = [("application/pdf", "pdf", b"%PDF-1.7\n"), ("image/png", "png", b"\x89PNG\r\n\x1a\n"),
               ("application/zip", "zip", b"PK\x03\x04"), ("image/jpeg", "jpg", b"\xff\xd8\xff\xe0"),
               ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", b"PK\x03\x04")]
START_TS = 1640995200          # 2022-01-01T00:00:00Z
SPAN = 3 * 365 * 86400         # three years


def _check_words() -> None:
    for w in WORDS + UTF8_WORDS + FIRST + LAST + TOPICS + DOMAINS:
        lw = w.lower()
        assert TEXT_WORD not in lw and SUBJECT_WORD not in lw, w


_check_words()


class Pool:
    """Paragraphs and quoted blocks shared by all messages (a function of the seed)."""

    def __init__(self, seed: int):
        rng = random.Random(f"pool-{seed}")
        self.paragraphs = [self._paragraph(rng) for _ in range(3000)]

    @staticmethod
    def _paragraph(rng: random.Random) -> str:
        words = rng.choices(WORDS, k=rng.randrange(25, 110))
        if rng.random() < 0.08:
            words[rng.randrange(len(words))] = rng.choice(UTF8_WORDS)
        sentences, cur = [], []
        for w in words:
            cur.append(w)
            if len(cur) > 5 and rng.random() < 0.12:
                sentences.append(" ".join(cur).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
                cur = []
        if cur:
            sentences.append(" ".join(cur).capitalize() + ".")
        return wrap(" ".join(sentences))


def wrap(text: str, width: int = 72) -> str:
    lines, cur, n = [], [], 0
    for w in text.split(" "):
        if n + len(w) + (1 if cur else 0) > width and cur:
            lines.append(" ".join(cur))
            cur, n = [], 0
        cur.append(w)
        n += len(w) + (1 if len(cur) > 1 else 0)
    if cur:
        lines.append(" ".join(cur))
    return "\r\n".join(lines)


def person(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.06:
        name = rng.choice(UTF8_NAMES)
        local = "user" + str(rng.randrange(1000))
    else:
        f, l = rng.choice(FIRST), rng.choice(LAST)
        name = f"{f} {l}"
        local = rng.choice([f"{f}.{l}", f"{f[0]}{l}", f, f"{f}_{l}"]).lower()
    return name, f"{local}@{rng.choice(DOMAINS)}"


def encoded_word(text: str) -> str:
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def mailbox(name: str, addr: str) -> str:
    if not name.isascii():
        return f"{encoded_word(name)} <{addr}>"
    return f'"{name}" <{addr}>' if "." in name else f"{name} <{addr}>"


MESSAGE_ID_INDEX = re.compile(rb"<[0-9a-f]{16}\.(\d+)@")


def message_id(seed: int, i: int) -> str:
    h = hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).hexdigest()
    return f"<{h}.{i}@{DOMAINS[int(h[:4], 16) % len(DOMAINS)]}>"


def rfc5322_date(ts: int, zone_min: int) -> str:
    t = time.gmtime(ts + zone_min * 60)
    sign = "+" if zone_min >= 0 else "-"
    z = abs(zone_min)
    return (f"{DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {sign}{z // 60:02d}{z % 60:02d}")


def imap_date(ts: int, zone_min: int) -> str:
    """RFC 3501 date-time for APPEND."""
    t = time.gmtime(ts + zone_min * 60)
    sign = "+" if zone_min >= 0 else "-"
    z = abs(zone_min)
    return (f"{t.tm_mday:02d}-{MONTHS[t.tm_mon - 1]}-{t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {sign}{z // 60:02d}{z % 60:02d}")


def b64_lines(data: bytes) -> str:
    enc = base64.b64encode(data).decode()
    return "\r\n".join(enc[k:k + 76] for k in range(0, len(enc), 76))


class Generator:
    def __init__(self, seed: int, n: int):
        self.seed, self.n = seed, n
        self.pool = Pool(seed)

    def message(self, i: int) -> tuple[bytes, int, int, int, dict]:
        """(raw bytes, flags, internal-date ts, zone minutes, facts) of message i."""
        rng = random.Random(self.seed * 1_000_003 + i)
        facts = {"text": False, "subject": False}
        ts = START_TS + int(SPAN * (i + 0.5) / max(self.n, 1)) + rng.randrange(-3 * 86400, 3 * 86400)
        zone = rng.choice(ZONES)
        from_name, from_addr = person(rng)
        to = [person(rng) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        cc = [person(rng) for _ in range(rng.choice([0, 0, 0, 1, 2, 4]))]
        is_reply = i > 0 and rng.random() < 0.3

        # Subject.
        r = rng.random()
        if r < 0.02:
            subject = rng.choice([f"Q{rng.randrange(1, 5)} {SUBJECT_WORD} of {rng.choice(TOPICS)} accounts",
                                  f"{SUBJECT_WORD.capitalize()} status for {rng.choice(LONG_MONTHS)}",
                                  f"Bank {SUBJECT_WORD} - {rng.choice(WORDS)} items",
                                  f"{SUBJECT_WORD.upper()}: {rng.choice(TOPICS)} differences"])
            facts["subject"] = True
        elif r < 0.024:
            subject = f"{TEXT_WORD.capitalize()} {rng.choice(TOPICS)} {rng.choice(WORDS)}"
            facts["text"] = True
        elif r < 0.06:
            subject = None  # encoded-word subject below
        else:
            tpl = rng.choice(SUBJECT_TEMPLATES)
            topic = rng.choice(TOPICS)
            subject = tpl.format(Topic=topic.capitalize(), topic=topic, w1=rng.choice(WORDS),
                                 w2=rng.choice(WORDS), n=rng.randrange(10), day=rng.choice(DAYS),
                                 hour=rng.randrange(8, 18), month=rng.choice(LONG_MONTHS),
                                 list=rng.choice(["ops", "dev", "all-hands", "finance"]))
        if subject is None:
            subj_header = encoded_word(rng.choice(UTF8_SUBJECTS) + " " + rng.choice(WORDS))
        else:
            subj_header = subject
        if is_reply:
            subj_header = rng.choice(["Re: ", "Re: ", "RE: ", "AW: ", "Fwd: "]) + subj_header

        # Structure and body size (the whole message mostly 2-20 KB).
        kind = rng.random()
        large = rng.random() < 0.003
        target = int(math.exp(rng.uniform(math.log(1500), math.log(17000))))
        if 0.55 <= kind < 0.85 and not large:
            target = int(target / 2.1)  # the HTML part repeats the text
        elif kind >= 0.85 or large:
            target = max(800, target - 4000)  # room for the attachments
        pars, size = [], 0
        while size < target:
            p = rng.choice(self.pool.paragraphs)
            pars.append(p)
            size += len(p) + 4
        if rng.random() < 0.03:
            sentence = wrap(rng.choice([
                f"The {TEXT_WORD} shipment is delayed until next {rng.choice(DAYS)}.",
                f"Please use the {TEXT_WORD.capitalize()} cost centre for this.",
                f"We moved the {rng.choice(TOPICS)} to project {TEXT_WORD.upper()}.",
                f"Lunch is {TEXT_WORD} tart again, sorry.",
            ]))
            pars.insert(rng.randrange(len(pars) + 1), sentence)
            facts["text"] = True
        if not facts["subject"] and rng.random() < 0.01:
            pars.insert(rng.randrange(len(pars) + 1),
                        wrap(f"The {SUBJECT_WORD} of the {rng.choice(TOPICS)} accounts is done."))
        greeting = f"Hi {to[0][0].split(' ')[0]},"
        signature = f"-- \r\n{from_name}\r\n{rng.choice(TOPICS).capitalize()} team"
        quoted = ""
        if is_reply:
            qp = rng.choice(self.pool.paragraphs)
            quoted = (f"\r\n\r\nOn {rfc5322_date(ts - rng.randrange(3600, 5 * 86400), zone)}, "
                      f"{to[0][0]} wrote:\r\n" + "\r\n".join("> " + l for l in qp.split("\r\n")))
        text = greeting + "\r\n\r\n" + "\r\n\r\n".join(pars) + "\r\n\r\n" + signature + quoted + "\r\n"

        # Headers.
        msgid = message_id(self.seed, i)
        h = [f"Return-Path: <{from_addr}>",
             f"Received: from mx{rng.randrange(1, 9)}.{from_addr.split('@')[1]} "
             f"(mx.{from_addr.split('@')[1]} [192.0.2.{rng.randrange(1, 255)}])\r\n"
             f"\tby mail.example.test with ESMTPS id {hashlib.md5(msgid.encode()).hexdigest()[:12]}\r\n"
             f"\tfor <{to[0][1]}>; {rfc5322_date(ts + rng.randrange(1, 90), 0)}",
             f"Message-ID: {msgid}",
             f"Date: {rfc5322_date(ts, zone)}",
             f"From: {mailbox(from_name, from_addr)}",
             "To: " + ",\r\n ".join(mailbox(n_, a) for n_, a in to)]
        if cc:
            h.append("Cc: " + ",\r\n ".join(mailbox(n_, a) for n_, a in cc))
        h.append(f"Subject: {subj_header}")
        if is_reply:
            refs = sorted({max(0, i - rng.randrange(1, 60)) for _ in range(rng.randrange(1, 6))})
            ids = [message_id(self.seed, j) for j in refs]
            h.append(f"In-Reply-To: {ids[-1]}")
            h.append("References: " + "\r\n ".join(ids))
        if rng.random() < 0.1:
            topic = subject if subject is not None else rng.choice(TOPICS)
            if not facts["subject"] and rng.random() < 0.03:
                topic = f"{rng.choice(TOPICS)} {SUBJECT_WORD}"
            h.append(f"Thread-Topic: {topic}")
        if rng.random() < 0.7:
            h.append(f"X-Mailer: {rng.choice(MAILERS)}")
        h.append("MIME-Version: 1.0")

        # Structure.
        cte = "7bit" if text.isascii() else "8bit"
        boundary = f"=_bench_{hashlib.md5(f'{self.seed}/{i}'.encode()).hexdigest()[:16]}"
        plain_part = f"Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{text}"
        if kind < 0.55 and not large:
            h.append("Content-Type: text/plain; charset=utf-8; format=flowed")
            h.append(f"Content-Transfer-Encoding: {cte}")
            body = text
        elif kind < 0.85 and not large:
            h.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"')
            body = (f"This is a multi-part message in MIME format.\r\n--{boundary}\r\n{plain_part}\r\n"
                    f"--{boundary}\r\n{self._html_part(text, cte)}\r\n--{boundary}--\r\n")
        else:
            h.append(f'Content-Type: multipart/mixed;\r\n boundary="{boundary}"')
            parts = [plain_part]
            count = 1 if large or rng.random() < 0.8 else 2
            for k in range(count):
                ctype, ext, magic = rng.choice(ATTACHMENTS)
                if large:
                    n_bytes = int(math.exp(rng.uniform(math.log(64_000), math.log(1_000_000))))
                else:
                    n_bytes = rng.randrange(800, 8000)
                data = magic + rng.randbytes(n_bytes)
                fname = f"{rng.choice(TOPICS)}-{rng.randrange(100, 999)}.{ext}"
                parts.append(f'Content-Type: {ctype}; name="{fname}"\r\n'
                             f'Content-Disposition: attachment; filename="{fname}"\r\n'
                             f"Content-Transfer-Encoding: base64\r\n\r\n{b64_lines(data)}\r\n")
            body = f"This is a multi-part message in MIME format.\r\n" + "".join(
                f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n"
        raw = ("\r\n".join(h) + "\r\n\r\n" + body).encode()

        flags = 0
        age = 1 - i / max(self.n, 1)
        if rng.random() < 0.4 + 0.55 * age:
            flags |= SEEN
        if is_reply and rng.random() < 0.3:
            flags |= ANSWERED
        if rng.random() < 0.05:
            flags |= FLAGGED
        if rng.random() < 0.002:
            flags |= DRAFT
        return raw, flags, ts, zone, facts

    @staticmethod
    def _html_part(text: str, cte: str) -> str:
        paras = text.split("\r\n\r\n")
        body = "\r\n".join("<p>" + "<br>\r\n".join(html.escape(l) for l in p.split("\r\n")) + "</p>"
                           for p in paras)
        return (f"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
                f"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
                f"</head><body>\r\n{body}\r\n</body></html>\r\n")


class Spool:
    """The generated messages on disk: raw bytes, flags and internal dates by index."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.meta = json.loads((directory / "meta.json").read_text())
        self.n = self.meta["n"]
        self.offsets = array.array("Q")
        self.flags = array.array("B")
        self.dates = array.array("q")
        self.zones = array.array("h")
        self.facts = array.array("B")
        with open(directory / "index.bin", "rb") as f:
            self.offsets.fromfile(f, self.n + 1)
            self.flags.fromfile(f, self.n)
            self.dates.fromfile(f, self.n)
            self.zones.fromfile(f, self.n)
            self.facts.fromfile(f, self.n)
        self._f = open(directory / "messages.bin", "rb")
        self._map = mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ) if self.offsets[-1] else b""

    def raw(self, i: int) -> bytes:
        return self._map[self.offsets[i]:self.offsets[i + 1]]

    def flag_list(self, i: int) -> str:
        return " ".join(name for bit, name in FLAG_NAMES if self.flags[i] & bit)

    def imap_date(self, i: int) -> str:
        return imap_date(self.dates[i], self.zones[i])

    def close(self) -> None:
        if self._map:
            self._map.close()
        self._f.close()


def generate(directory: Path, n: int, seed: int, progress=None) -> Spool:
    """Writes the spool (reusing one already there for the same n, seed and version)."""
    directory.mkdir(parents=True, exist_ok=True)
    meta_path = directory / "meta.json"
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("n") == n and meta.get("seed") == seed and meta.get("version") == VERSION:
                return Spool(directory)
        except (OSError, ValueError):
            pass
        meta_path.unlink()
    gen = Generator(seed, n)
    offsets = array.array("Q", [0])
    flags, dates, zones = array.array("B"), array.array("q"), array.array("h")
    fact_bits = array.array("B")
    counts = {"text": 0, "subject": 0, "seen": 0, "flagged": 0, "answered": 0, "draft": 0,
              "text_plain": 0, "alternative": 0, "mixed": 0, "over_20k": 0, "over_64k": 0}
    sizes = []
    with open(directory / "messages.bin", "wb") as out:
        pos = 0
        for i in range(n):
            raw, fl, ts, zone, facts = gen.message(i)
            out.write(raw)
            pos += len(raw)
            offsets.append(pos)
            flags.append(fl)
            dates.append(ts)
            zones.append(zone)
            fact_bits.append((HAS_TEXT_WORD if facts["text"] else 0)
                             | (HAS_SUBJECT_WORD if facts["subject"] else 0))
            sizes.append(len(raw))
            counts["text"] += facts["text"]
            counts["subject"] += facts["subject"]
            counts["seen"] += bool(fl & SEEN)
            counts["flagged"] += bool(fl & FLAGGED)
            counts["answered"] += bool(fl & ANSWERED)
            counts["draft"] += bool(fl & DRAFT)
            head = raw[:raw.find(b"\r\n\r\n")]
            if b"multipart/alternative" in head:
                counts["alternative"] += 1
            elif b"multipart/mixed" in head:
                counts["mixed"] += 1
            else:
                counts["text_plain"] += 1
            counts["over_20k"] += len(raw) > 20_000
            counts["over_64k"] += len(raw) > 64_000
            if progress and (i + 1) % 10000 == 0:
                progress(i + 1)
    with open(directory / "index.bin", "wb") as f:
        offsets.tofile(f)
        flags.tofile(f)
        dates.tofile(f)
        zones.tofile(f)
        fact_bits.tofile(f)
    sizes.sort()
    meta = {
        "version": VERSION, "n": n, "seed": seed, "bytes": offsets[-1],
        "text_word": TEXT_WORD, "subject_word": SUBJECT_WORD,
        "expected": {"text": counts["text"], "subject": counts["subject"]},
        "counts": counts,
        "size_median": sizes[len(sizes) // 2] if sizes else 0,
        "size_p05": sizes[len(sizes) // 20] if sizes else 0,
        "size_p95": sizes[len(sizes) * 19 // 20] if sizes else 0,
        "size_max": sizes[-1] if sizes else 0,
    }
    tmp = meta_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, meta_path)
    return Spool(directory)
