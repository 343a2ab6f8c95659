#!/usr/bin/env python3
"""Convert Debian's git-doc HTML documentation into frontdesk knowledge-base
articles (markdown with front matter), for the search relevance evaluation.

Standard library only.  Usage (see README.md for fetching the package):

    python3 convert.py --src /tmp/gitdoc/x/usr/share/doc/git-doc \
                       --out tests/relevance/articles

Input pages, taken in sorted order so the output is deterministic:
  * every *.html in the top directory (one page per command or guide),
    except the index pages (index.html -> git.html symlink, howto-index.html),
    the two "This document has been moved" redirect stubs (everyday.html,
    git-remote-helpers.html) and user-manual.html, handled separately;
  * howto/*.html and technical/*.html (except technical/api-index.html,
    a list of links);
  * user-manual.html, split into one article per top-level section (<h2>)
    plus one per chapter introduction when that introduction has real text.

Each body is capped at MAX_BODY_BYTES, cut at a block boundary.
"""

import argparse
import html
import os
import re
import sys
from html.parser import HTMLParser

MAX_BODY_BYTES = 20 * 1024
MIN_INTRO_CHARS = 300

SKIP_TAGS = {"script", "style", "head", "title", "noscript"}
SKIP_DIV_IDS = {"header", "footer", "toc", "footer-text"}
SKIP_DIV_CLASSES = {"toc", "navheader", "navfooter"}
BLOCK_TAGS = {
    "p", "div", "dl", "dt", "dd", "ul", "ol", "li", "table", "tr",
    "blockquote", "hr", "br", "body", "section", "caption", "thead", "tbody",
}
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr"}

# git's own grouping of its commands (the cmds-*.txt lists shipped in git-doc),
# named as the sections of git(1) name them.
CMD_CATEGORIES = [
    ("cmds-mainporcelain.txt", "Main porcelain commands"),
    ("cmds-ancillarymanipulators.txt", "Ancillary commands: manipulators"),
    ("cmds-ancillaryinterrogators.txt", "Ancillary commands: interrogators"),
    ("cmds-foreignscminterface.txt", "Interacting with others"),
    ("cmds-plumbingmanipulators.txt", "Low-level commands: manipulation"),
    ("cmds-plumbinginterrogators.txt", "Low-level commands: interrogation"),
    ("cmds-synchingrepositories.txt", "Low-level commands: syncing repositories"),
    ("cmds-synchelpers.txt", "Low-level commands: syncing helpers"),
    ("cmds-purehelpers.txt", "Low-level commands: internal helpers"),
    ("cmds-guide.txt", "Guides"),
    ("cmds-userinterfaces.txt", "Repository, command and file interfaces"),
    ("cmds-developerinterfaces.txt", "File formats, protocols and developer interfaces"),
]


class TextConverter(HTMLParser):
    """Turns an HTML fragment into plain markdown-ish text blocks."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks = []          # finished blocks of text
        self.buf = []             # inline text of the current block
        self.code_stack = []      # buffers for inline <code>
        self.div_stack = []       # True where that div is skipped
        self.skip = 0             # depth inside SKIP_TAGS
        self.pre = 0
        self.pre_buf = []
        self.heading = None
        self.lists = []           # stack of ["ul"|"ol", counter]
        self.prefix = None        # pending list-item prefix
        self.cell = 0             # depth inside td/th
        self.row = []
        self.row_cell_class = ""

    # -- helpers ---------------------------------------------------------
    def skipping(self):
        return self.skip > 0 or any(self.div_stack)

    def emit_text(self, data):
        if self.code_stack:
            self.code_stack[-1].append(data)
        else:
            self.buf.append(data)

    def flush(self):
        text = " ".join("".join(self.buf).split())
        self.buf = []
        if not text:
            return
        if self.heading:
            self.blocks.append("#" * self.heading + " " + text)
            return
        if self.prefix is not None:
            text = self.prefix + text
            self.prefix = None
        elif self.lists:
            text = "  " * len(self.lists) + text
        self.blocks.append(text)

    # -- parser callbacks -------------------------------------------------
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div":
            classes = set((a.get("class") or "").split())
            self.div_stack.append(
                a.get("id") in SKIP_DIV_IDS or bool(classes & SKIP_DIV_CLASSES))
        if tag in SKIP_TAGS:
            self.skip += 1
            return
        if self.skipping():
            return
        if self.pre:
            if tag == "br":
                self.pre_buf.append("\n")
            return
        if tag == "pre":
            self.flush()
            self.pre += 1
            self.pre_buf = []
            return
        if tag in ("td", "th"):
            self.cell += 1
            self.row_cell_class = a.get("class") or ""
            return
        if self.cell:
            if tag in BLOCK_TAGS:
                self.emit_text(" ")
            elif tag == "code":
                self.code_stack.append([])
            return
        if tag in HEADINGS:
            self.flush()
            self.heading = HEADINGS[tag]
            return
        if tag == "code":
            self.code_stack.append([])
            return
        if tag in ("ul", "ol"):
            self.flush()
            self.lists.append([tag, 0])
            return
        if tag == "li":
            self.flush()
            indent = "  " * max(len(self.lists) - 1, 0)
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                self.prefix = "%s%d. " % (indent, self.lists[-1][1])
            else:
                self.prefix = indent + "- "
            return
        if tag == "tr":
            self.flush()
            self.row = []
            return
        if tag in BLOCK_TAGS:
            self.flush()

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        if tag == "div":
            skipped_before = self.skipping()
            if self.div_stack:
                self.div_stack.pop()
            if skipped_before:
                return
        if tag in SKIP_TAGS:
            self.skip = max(self.skip - 1, 0)
            return
        if self.skipping():
            return
        if tag == "pre":
            if self.pre:
                self.pre -= 1
                if not self.pre:
                    body = "".join(self.pre_buf).strip("\n")
                    body = "\n".join(l.rstrip() for l in body.split("\n"))
                    if body.strip():
                        self.blocks.append("```\n" + body + "\n```")
                    self.pre_buf = []
            return
        if self.pre:
            return
        if tag == "code" and self.code_stack:
            inner = " ".join("".join(self.code_stack.pop()).split())
            if inner:
                self.emit_text("`" + inner.replace("`", "'") + "`"
                               if not self.code_stack else inner)
            return
        if tag in ("td", "th"):
            if self.cell:
                self.cell -= 1
                cell = " ".join("".join(self.buf).split())
                self.buf = []
                if cell:
                    if "icon" in self.row_cell_class.split():
                        cell += ":"
                    self.row.append(cell)
            return
        if self.cell:
            if tag in BLOCK_TAGS:
                self.emit_text(" ")
            return
        if tag in HEADINGS:
            self.flush()
            self.heading = None
            return
        if tag in ("ul", "ol"):
            self.flush()
            if self.lists:
                self.lists.pop()
            self.prefix = None
            return
        if tag == "tr":
            self.flush()
            if self.row:
                if len(self.row) == 2 and self.row[0].endswith(":"):
                    self.blocks.append(self.row[0] + " " + self.row[1])
                else:
                    self.blocks.append(" | ".join(self.row))
            self.row = []
            return
        if tag in BLOCK_TAGS:
            self.flush()

    def handle_data(self, data):
        if self.skipping():
            return
        if self.pre:
            self.pre_buf.append(data)
            return
        self.emit_text(data)

    def close(self):
        super().close()
        self.flush()
        if self.pre_buf and "".join(self.pre_buf).strip():
            self.blocks.append("```\n" + "".join(self.pre_buf).strip("\n") + "\n```")


def html_to_blocks(fragment):
    conv = TextConverter()
    conv.feed(fragment)
    conv.close()
    # tidy the space left where a tag sat before punctuation ("foo ,")
    blocks = [b if b.startswith("```") else re.sub(r" +([,.;:)])(?=\s|$)", r"\1", b)
              for b in conv.blocks]
    # drop the boilerplate "GIT / Part of the git(1) suite" trailer of man pages
    if len(blocks) >= 2 and blocks[-2] == "## GIT" and "Part of the" in blocks[-1]:
        blocks = blocks[:-2]
    return blocks


def cap_blocks(blocks, limit=MAX_BODY_BYTES):
    out, size = [], 0
    for b in blocks:
        n = len(b.encode("utf-8")) + 2
        if size + n > limit:
            room = limit - size
            # a long first block (or plenty of room left): cut it at a line
            if not out or room > 2000:
                lines, part = [], 0
                for line in b.split("\n"):
                    ln = len(line.encode("utf-8")) + 1
                    if part + ln > room - 8:
                        break
                    lines.append(line)
                    part += ln
                if lines:
                    piece = "\n".join(lines)
                    if piece.startswith("```"):
                        piece += "\n```"
                    out.append(piece)
            break
        out.append(b)
        size += n
    return out


def strip_tags(s):
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", s)).split())


def slugify(name):
    """Lower-case letters, digits and single hyphens (what frontdesk accepts):
    MyFirstContribution -> my-first-contribution,
    git-credential-cache--daemon -> git-credential-cache-daemon,
    gitweb.conf -> gitweb-conf."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    name = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()
    return re.sub(r"-+", "-", name)


def body_of(raw):
    m = re.search(r"<body[^>]*>(.*)</body>", raw, re.S | re.I)
    return m.group(1) if m else raw


def page_title(raw, blocks, fallback):
    m = re.search(r'<h2>NAME</h2>\s*<div class="sectionbody">\s*<p>(.*?)</p>', raw, re.S)
    if m:
        return strip_tags(m.group(1))
    m = re.search(r"<title>(.*?)</title>", raw, re.S | re.I)
    if m and strip_tags(m.group(1)):
        return strip_tags(m.group(1))
    m = re.search(r'<div id="header">\s*<h1>(.*?)</h1>', raw, re.S)
    if m and strip_tags(m.group(1)):
        return strip_tags(m.group(1))
    for b in blocks:
        if b.startswith("#"):
            return b.lstrip("#").strip()
    return fallback


def load_categories(src):
    cats = {}
    for fname, label in CMD_CATEGORIES:
        path = os.path.join(src, fname)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for m in re.finditer(r"^linkgit:([A-Za-z0-9._-]+)\[\d\]::", f.read(), re.M):
                cats.setdefault(m.group(1), label)
    return cats


def fm_value(s):
    """A front-matter value.  frontdesk's importer takes everything after the
    first colon and only strips one pair of surrounding quotes (no escapes), so
    quote only where YAML would need it and the value holds no quote itself."""
    s = " ".join(s.split())
    if re.search(r"[:#\[\]{}&*!|>%@`,]", s) and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    return s


def render(title, slug, category, blocks):
    kept = cap_blocks(blocks)
    body = "\n\n".join(kept).strip() + "\n"
    fm = ["---", "title: " + fm_value(title), "slug: " + slug]
    if category:
        fm.append("category: " + fm_value(category))
    fm += ["tags: []", "locale: en", "status: published", "---"]
    return "\n".join(fm) + "\n\n" + body, kept != blocks


def split_user_manual(raw):
    """Yield (anchor, title, chapter_title, level, html_fragment)."""
    pat = re.compile(
        r'<div class="(preface|chapter|appendix|section)"><div class="titlepage">'
        r'<div><div><h([12]) class="title"[^>]*><a name="([^"]+)"></a>(.*?)</h\2>', re.S)
    marks = list(pat.finditer(raw))
    end = raw.rfind("</body>")
    chapter = ""
    for i, m in enumerate(marks):
        stop = marks[i + 1].start() if i + 1 < len(marks) else end
        level = int(m.group(2))
        title = strip_tags(m.group(4))
        if level == 1:
            title = re.sub(r"^(Chapter \d+|Appendix [A-Z])\.\s*", "", title)
            chapter = title
        yield m.group(3), title, chapter, level, raw[m.end():stop]


def collect(src):
    cats = load_categories(src)
    articles = []  # (slug, title, category, blocks)

    top = sorted(f for f in os.listdir(src) if f.endswith(".html"))
    for f in top:
        path = os.path.join(src, f)
        if os.path.islink(path) or f in ("howto-index.html", "user-manual.html"):
            continue
        with open(path, encoding="utf-8") as fh:
            raw = fh.read()
        name = f[:-5]
        blocks = html_to_blocks(body_of(raw))
        title = page_title(raw, blocks, name)
        if 'class="manpage"' in raw:
            category = cats.get(name, "Commands")
            slug = slugify(name)
        else:
            category = "Articles"
            slug = slugify(name)
        articles.append((slug, title, category, blocks))

    for sub, prefix, category in (("howto", "howto-", "How-to"),
                                  ("technical", "technical-", "Technical documentation")):
        d = os.path.join(src, sub)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith(".html") or os.path.islink(os.path.join(d, f)):
                continue
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                raw = fh.read()
            blocks = html_to_blocks(body_of(raw))
            title = page_title(raw, blocks, f[:-5])
            articles.append((prefix + slugify(f[:-5]), title, category, blocks))

    um = os.path.join(src, "user-manual.html")
    if os.path.exists(um):
        with open(um, encoding="utf-8") as fh:
            raw = fh.read()
        parts = []
        for anchor, title, chapter, level, frag in split_user_manual(raw):
            blocks = html_to_blocks(frag)
            if level == 1 and sum(len(b) for b in blocks) < MIN_INTRO_CHARS:
                continue
            parts.append(("user-manual-" + slugify(anchor), title, chapter, blocks))
        counts = {}
        for p in parts:
            counts[p[1].lower()] = counts.get(p[1].lower(), 0) + 1
        for slug, title, chapter, blocks in parts:
            if counts[title.lower()] > 1 and title != chapter:
                title = "%s (%s)" % (title, chapter)
            articles.append((slug, title, "Git User Manual", blocks))

    # drop redirect stubs ("This document has been moved to ...") and the
    # technical API index page, which is only a list of links
    articles = [a for a in articles
                if not (a[3] and a[3][0].startswith("This document has been moved"))
                and a[0] != "technical-api-index"]

    seen = set()
    for slug, *_ in articles:
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) or len(slug) > 100:
            sys.exit("bad slug: " + slug)
        if slug in seen:
            sys.exit("duplicate slug: " + slug)
        seen.add(slug)
    return articles


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="/tmp/gitdoc/x/usr/share/doc/git-doc",
                    help="extracted /usr/share/doc/git-doc of the git-doc package")
    ap.add_argument("--out", default=os.path.join(here, "articles"))
    args = ap.parse_args()

    articles = collect(args.src)
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith(".md"):
            os.remove(os.path.join(args.out, f))
    total = truncated = 0
    for slug, title, category, blocks in articles:
        text, cut = render(title, slug, category, blocks)
        truncated += cut
        with open(os.path.join(args.out, slug + ".md"), "w", encoding="utf-8") as fh:
            fh.write(text)
        total += len(text.encode("utf-8"))
    print("%d articles (%d cut at %d bytes), %d bytes in %s"
          % (len(articles), truncated, MAX_BODY_BYTES, total, args.out))


if __name__ == "__main__":
    main()
