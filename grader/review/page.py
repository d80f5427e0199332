"""The review page: one HTML document with its script, a client of the JSON API (grader/review/app.py).

Everything a student wrote reaches the page as text (textContent), except the answer's Markdown, which the
server renders with raw HTML disabled. Its math (`<span class="math">`, grader/review/mathspans.py) and any
math in the instructor note are rendered by the vendored KaTeX (static/katex/, served by the app behind the
token), with KaTeX's untrusted-input defaults (no \\href, \\html...). Keys: digits set the points, j/n next,
k/p previous, s save. Near-copy pairs take a "noted" / "dismissed" decision, never points.
"""

from __future__ import annotations

import json
from html import escape

TEXT = {
    "en": {"title": "Review", "by_question": "by question", "by_student": "by student", "anonymous": "anonymous",
           "todo_only": "to do only", "points": "points", "comment": "comment", "save": "save (s)",
           "note": "Instructor note", "answer": "Answer", "cells": "Notebook cells",
           "detail": "Failure detail (instructor only)",
           "message": "Message", "saved": "saved", "conflict": "not saved: someone saved this meanwhile; reloaded",
           "empty": "Nothing to review.", "student": "student", "keys": "digits: points · j/n next · k/p previous · s save",
           "written": "written answer", "stale": "answer changed since scored", "unplaced": "answer not found",
           "error": "check error", "not_gradable": "not gradable", "reviewed": "scored", "not_scorable":
           "Not scorable here: grade the notebook again, or override its checks one by one.",
           "near_copy": "near-copy", "near_copy_decided": "near-copy, decided", "similarity": "similarity",
           "passages": "Shared code", "noted": "noted", "dismissed": "dismissed", "decision": "Decision",
           "pair_note": "Two submissions whose code is mostly the same: a list to look at, never a verdict. "
                        "The decision is kept for the record and changes no points.",
           "pair_changed": "their code changed since this was decided"},
    "zh": {"title": "评阅", "by_question": "按题目", "by_student": "按学生", "anonymous": "匿名",
           "todo_only": "只看待办", "points": "分数", "comment": "评语", "save": "保存 (s)",
           "note": "教师备注", "answer": "回答", "cells": "笔记本单元格",
           "detail": "失败详情（仅教师可见）",
           "message": "信息", "saved": "已保存", "conflict": "未保存：他人已先保存此项；已重新载入",
           "empty": "没有需要评阅的内容。", "student": "学生", "keys": "数字：分数 · j/n 下一项 · k/p 上一项 · s 保存",
           "written": "书面回答", "stale": "评分后答案已修改", "unplaced": "未找到答案",
           "error": "检查出错", "not_gradable": "无法评分", "reviewed": "已评分", "not_scorable":
           "此处无法评分：请重新评分该笔记本，或逐项覆盖其检查。",
           "near_copy": "高度相似", "near_copy_decided": "高度相似（已处理）", "similarity": "相似度",
           "passages": "相同的代码", "noted": "已记录", "dismissed": "已排除", "decision": "处理",
           "pair_note": "两份代码大部分相同的提交：仅供查看，不是结论。处理结果只作记录，不改变分数。",
           "pair_changed": "处理之后他们的代码已修改"},
}

CSS = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;display:flex;height:100vh;color:#212121}
#side{width:22rem;overflow:auto;border-right:1px solid #ddd;padding:.5rem}#main{flex:1;overflow:auto;padding:1rem 2rem}
#side li{list-style:none;padding:.2rem .4rem;cursor:pointer;border-radius:3px}#side ul{padding:0}
#side li.cur{background:#e3f2fd}.kind{font-size:.8rem;color:#6a1b9a}.done{color:#2e7d32}
.box{border:1px solid #ddd;border-radius:4px;padding:.5rem 1rem;margin:.6rem 0}.note{background:#fff8e1}
pre{white-space:pre-wrap;background:#f5f5f5;padding:.5rem}#status{font-weight:600;min-height:1.2rem}
.pair pre{max-height:20rem;overflow:auto}.cell img{max-width:100%}.err{color:#c62828}.ok{color:#2e7d32}input[type=number]{width:5rem}textarea{width:100%;height:4rem}
"""

SCRIPT = r"""
const T = __TEXT__;
const token = new URLSearchParams(location.search).get('token') || '';
const api = (path, opts = {}) => fetch(path, {...opts, headers: {...(opts.headers || {}),
  'Authorization': 'token ' + token, 'Content-Type': 'application/json'}});
let items = [], order = [], pos = 0, current = null;
const $ = id => document.getElementById(id);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls; return e; };
const done = i => i.kind === 'reviewed' || i.kind === 'near_copy_decided';
const itemKey = i => i.student + '/' + i.check;
function typeset(root) {  // the answer's math spans (server-made), then $...$, \(...\) in plain text (the note)
  if (!window.katex) return;
  root.querySelectorAll('span.math').forEach(s => katex.render(s.textContent, s,
    {displayMode: s.classList.contains('display'), throwOnError: false, maxSize: 50}));
}
function typesetText(root) {
  if (window.renderMathInElement) renderMathInElement(root, {throwOnError: false, maxSize: 50, delimiters: [
    {left: '$$', right: '$$', display: true}, {left: '\\[', right: '\\]', display: true},
    {left: '$', right: '$', display: false}, {left: '\\(', right: '\\)', display: false}]});
}
function who(student) {
  if (!$('anon').checked) return student;
  const ids = [...new Set(items.flatMap(i => i.other ? [i.student, i.other] : [i.student]))].sort();
  return T.student + ' #' + (ids.indexOf(student) + 1);
}
function arrange() {
  const todo = $('todo').checked;
  order = items.filter(i => !todo || !done(i));
  if ($('mode').value === 'student')
    order.sort((a, b) => a.student < b.student ? -1 : a.student > b.student ? 1 : a.order - b.order);
  else order.sort((a, b) => a.order - b.order || (a.student < b.student ? -1 : 1));
  const list = $('list'); list.replaceChildren();
  order.forEach((item, n) => {
    const li = el('li'); li.dataset.n = n; if (n === pos) li.className = 'cur';
    const label = item.other ? who(item.student) + ' ↔ ' + who(item.other) + ' · ' + item.exercise
                             : who(item.student) + ' · ' + item.check;
    li.append(el('span', label + ' '), el('span', T[item.kind] || item.kind, 'kind' + (done(item) ? ' done' : '')));
    li.onclick = () => show(n); list.append(li);
  });
  if (!order.length) $('item').replaceChildren(el('p', T.empty));
}
async function load(keep) {
  const r = await api('/api/queue'); items = (await r.json()).items;
  const key = keep && order[pos] ? itemKey(order[pos]) : null;
  arrange();
  if (key) { const n = order.findIndex(i => itemKey(i) === key); pos = n < 0 ? 0 : n; }
  if (order.length) await show(Math.min(pos, order.length - 1));
}
async function show(n) {
  pos = n; document.querySelectorAll('#list li').forEach(li => li.className = +li.dataset.n === n ? 'cur' : '');
  const q = order[n];
  const r = await api(q.item);
  current = await r.json(); if (current.other) renderPair(); else render();
}
function render() {
  const c = current, box = $('item'); box.replaceChildren();
  box.append(el('h2', who(c.student) + ' · ' + (c.title || c.check)), el('p', c.check + ' · ' + (c.status || c.kind), 'kind'));
  if (c.message) { const m = el('div', '', 'box'); m.append(el('b', T.message + ': '), el('span', c.message)); box.append(m); }
  if (c.written) {
    const a = el('div', '', 'box answer'); a.id = 'answer'; a.append(el('h3', T.answer));
    const body = el('div'); body.innerHTML = c.answer_html; typeset(body); a.append(body); box.append(a);  // rendered server-side, HTML escaped
  }
  if (c.note) { const n = el('div', '', 'box note'); const t = el('div', c.note); typesetText(t); n.append(el('h3', T.note), t); box.append(n); }
  if (c.detail) { const d = el('div', '', 'box'); d.append(el('h3', T.detail), el('pre', c.detail)); box.append(d); }
  if (c.cells && c.cells.length) {
    const cs = el('div', '', 'box cells'); cs.append(el('h3', T.cells));
    for (const cell of c.cells) {
      const one = el('div', '', 'cell'); one.append(el('p', '[' + cell.index + ']', 'kind'), el('pre', cell.source));
      for (const o of cell.outputs) {
        if (o.png) { const img = el('img'); img.src = 'data:image/png;base64,' + o.png; one.append(img); }
        else one.append(el('pre', o.text));
      }
      cs.append(one);
    }
    box.append(cs);
  }
  if (!c.scorable) { box.append(el('p', T.not_scorable)); return; }
  const form = el('div', '', 'box');
  const pts = el('input'); pts.type = 'number'; pts.id = 'points'; pts.min = 0; pts.max = c.max_points; pts.step = 'any';
  pts.value = c.score ? c.score.points : '';
  const com = el('textarea'); com.id = 'comment'; com.value = c.score ? c.score.comment : '';
  const btn = el('button', T.save); btn.id = 'save'; btn.onclick = save;
  form.append(el('label', T.points + ' (0–' + c.max_points + ') '), pts, el('br'), el('label', T.comment), com, btn);
  box.append(form);
}
function renderPair() {
  const c = current, box = $('item'); box.replaceChildren();
  box.append(el('h2', who(c.student) + ' ↔ ' + who(c.other) + ' · ' + c.exercise),
             el('p', T[c.kind] + ' · ' + T.similarity + ' ' + Math.round(c.similarity * 100) + '%', 'kind'),
             el('p', T.pair_note));
  if (c.stale) box.append(el('p', T.pair_changed, 'err'));
  const ps = el('div', '', 'box pair'); ps.id = 'passages'; ps.append(el('h3', T.passages));
  c.passages.forEach(p => ps.append(el('pre', p))); box.append(ps);
  const form = el('div', '', 'box'); form.append(el('h3', T.decision));
  const com = el('textarea'); com.id = 'comment'; com.value = c.decision ? c.decision.comment : '';
  for (const d of ['noted', 'dismissed']) {
    const b = el('button', T[d] + (c.decision && c.decision.decision === d ? ' ✓' : '')); b.id = d;
    b.onclick = () => decide(d); form.append(b, ' ');
  }
  if (c.decision) form.append(el('p', (c.decision.who || '') + ' ' + c.decision.when, 'kind'));
  form.append(el('label', T.comment), com); box.append(form);
}
async function decide(decision) {
  const c = current;
  const body = {exercise: c.exercise, first: c.student, second: c.other, decision, comment: $('comment').value,
                version: c.version};
  const r = await api('/api/pairs', {method: 'POST', body: JSON.stringify(body)});
  const data = await r.json();
  if (r.ok) { setStatus(T.saved + ': ' + T[decision], 'ok'); current = data; await load(true); }
  else if (r.status === 409) { setStatus(T.conflict, 'err'); await show(pos); }
  else setStatus(data.error || r.status, 'err');
}
async function save() {
  const c = current; if (!c || !c.scorable) return;
  const body = {student: c.student, check: c.check, points: parseFloat($('points').value),
                comment: $('comment').value, version: c.version};
  const r = await api('/api/scores', {method: 'POST', body: JSON.stringify(body)});
  const data = await r.json();
  if (r.ok) { setStatus(T.saved + ': ' + c.check + ' = ' + body.points, 'ok'); current = data; await load(true); }
  else if (r.status === 409) { setStatus(T.conflict, 'err'); await show(pos); }
  else setStatus(data.error || r.status, 'err');
}
function setStatus(text, cls) { const s = $('status'); s.textContent = text; s.className = cls; }
document.addEventListener('keydown', e => {
  const typing = e.target.tagName === 'TEXTAREA' || (e.target.tagName === 'INPUT' && e.target.type !== 'checkbox');
  if (typing && e.key !== 'Escape') return;
  if (e.key === 'Escape') { e.target.blur(); return; }
  if (/^[0-9]$/.test(e.key) && $('points')) { $('points').value = e.key; e.preventDefault(); }
  else if ((e.key === 'j' || e.key === 'n') && pos + 1 < order.length) show(pos + 1);
  else if ((e.key === 'k' || e.key === 'p') && pos > 0) show(pos - 1);
  else if (e.key === 's') { e.preventDefault(); save(); }
});
['mode', 'anon', 'todo'].forEach(id => $(id).onchange = () => { pos = 0; arrange(); if (order.length) show(0); });
load(false);
"""


def render_page(lang: str, nonce: str) -> str:
    """The page in `lang` ("en" or "zh"); `nonce` lets its one script run under the page's CSP."""
    text = TEXT.get(lang, TEXT["en"])
    t = lambda key: escape(text[key])  # noqa: E731
    script = SCRIPT.replace("__TEXT__", json.dumps(text, ensure_ascii=False).replace("</", "<\\/"))
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{t('title')}</title><style>{CSS}</style>"
            f'<link rel="stylesheet" href="/static/katex/katex.min.css">'
            f'<script nonce="{nonce}" src="/static/katex/katex.min.js"></script>'
            f'<script nonce="{nonce}" src="/static/katex/auto-render.min.js"></script></head><body>'
            f'<nav id="side"><h1>{t("title")}</h1>'
            f'<select id="mode"><option value="question">{t("by_question")}</option>'
            f'<option value="student">{t("by_student")}</option></select> '
            f'<label><input type="checkbox" id="anon"> {t("anonymous")}</label> '
            f'<label><input type="checkbox" id="todo"> {t("todo_only")}</label>'
            f'<p class="kind">{t("keys")}</p><ul id="list"></ul></nav>'
            f'<main id="main"><div id="status"></div><div id="item"></div></main>'
            f'<script nonce="{nonce}">{script}</script></body></html>')
