// Groundwork review console: a small single-page app over the console API (/console/api/...). The credential (a
// reviewer API key or a JWT) stays in this tab's sessionStorage and goes in the Authorization header; the tenant and
// the reviewer's name come from it. Every text from the server is put in the page as text, never as markup.
'use strict';

(() => {
  const POLL_MS = 3000;
  const store = window.sessionStorage;
  const state = { credential: store.getItem('gw.credential'), tenant: store.getItem('gw.tenant'), me: null };
  let poll = null;
  let keyHandler = null;
  let signinMessage = '';

  // ---------- small helpers ----------
  const $ = (sel, root = document) => root.querySelector(sel);
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c);
    return el;
  }
  /** Child lists without the nulls of conditional parts (replaceChildren would print them). */
  const kids = (...xs) => xs.flat().filter((x) => x !== null && x !== undefined && x !== false);
  const SVG = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c);
    return el;
  }
  function announce(text) {
    const live = $('#live');
    live.textContent = '';
    setTimeout(() => (live.textContent = text), 30);
  }
  function duration(ms) {
    const neg = ms < 0;
    let v = Math.abs(ms) / 1000;
    let out;
    if (v < 60) out = `${Math.round(v)} s`;
    else if ((v /= 60) < 60) out = `${Math.round(v)} min`;
    else if ((v /= 60) < 48) out = `${v.toFixed(v < 10 ? 1 : 0)} h`;
    else out = `${(v / 24).toFixed(1)} d`;
    return neg ? `-${out}` : out;
  }
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const main = () => $('#main');
  function setMain(...nodes) {
    stopPolling();
    if (keyHandler) document.removeEventListener('keydown', keyHandler);
    keyHandler = null;
    main().replaceChildren(...kids(nodes));
  }
  function stopPolling() {
    if (poll) clearTimeout(poll);
    poll = null;
  }
  function badge(status) {
    return h('span', { class: `badge ${status}`, 'data-status': status, text: status });
  }

  // ---------- the API ----------
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
  async function api(path, options = {}) {
    const res = await fetch(`/console/api${path}`, {
      method: options.method || 'GET',
      headers: {
        authorization: `Bearer ${state.credential}`,
        ...(options.body ? { 'content-type': 'application/json' } : {}),
      },
      body: options.body ? JSON.stringify(options.body) : undefined,
    });
    if (res.status === 401) {
      signOut('Your credential was not accepted. Sign in again.');
      throw new ApiError(401, 'UNAUTHENTICATED', 'Not signed in.');
    }
    if (options.raw) {
      if (!res.ok) throw new ApiError(res.status, 'ERROR', 'Not available.');
      return res.blob();
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const e = body.error || {};
      throw new ApiError(res.status, e.code || 'ERROR', e.message || `The server answered ${res.status}.`);
    }
    return body;
  }
  const tenantPath = () => `/tenants/${encodeURIComponent(state.tenant)}`;
  const taskPath = (id) => `${tenantPath()}/tasks/${encodeURIComponent(id)}`;

  // ---------- sign-in ----------
  function signOut(message) {
    store.removeItem('gw.credential');
    store.removeItem('gw.tenant');
    state.credential = null;
    state.tenant = null;
    state.me = null;
    signinMessage = message || '';
    $('#nav').hidden = true;
    $('#who').hidden = true;
    if (location.pathname !== '/console/' || location.hash) history.replaceState(null, '', '/console/');
    route();
  }

  function renderSignIn() {
    const error = h('div', { class: 'msg error', role: 'alert', id: 'signin-error', text: signinMessage });
    signinMessage = '';
    const key = h('input', {
      type: 'password',
      id: 'credential',
      name: 'credential',
      autocomplete: 'off',
      required: true,
    });
    const tenant = h('input', { type: 'text', id: 'tenant', name: 'tenant', autocomplete: 'off' });
    const form = h(
      'form',
      {
        class: 'panel signin',
        'aria-labelledby': 'signin-title',
        onsubmit: async (ev) => {
          ev.preventDefault();
          error.textContent = '';
          state.credential = key.value.trim();
          if (!state.credential) {
            error.textContent = 'Enter your reviewer API key or token.';
            return;
          }
          try {
            const me = await fetch('/console/api/me', { headers: { authorization: `Bearer ${state.credential}` } });
            const body = await me.json().catch(() => ({}));
            if (!me.ok) {
              state.credential = null;
              error.textContent =
                me.status === 401
                  ? 'That key or token was not accepted.'
                  : me.status === 403
                    ? 'This credential may not review tasks (it needs the reviewer role).'
                    : (body.error && body.error.message) || `Sign-in failed (${me.status}).`;
              return;
            }
            const t = body.tenant === '*' ? tenant.value.trim() : body.tenant;
            if (!t) {
              state.credential = null;
              error.textContent = 'This credential is for every tenant: enter the tenant to review.';
              return;
            }
            store.setItem('gw.credential', state.credential);
            store.setItem('gw.tenant', t);
            state.tenant = t;
            state.me = body;
            if (!location.hash || location.hash === '#/signin') location.hash = '#/queue';
            else route();
          } catch {
            error.textContent = 'The console could not reach the server.';
          }
        },
      },
      h('h1', { id: 'signin-title', text: 'Sign in to review' }),
      h('p', { text: 'Use the reviewer API key or the token you were given. Your tenant and name come from it.' }),
      error,
      h('label', { for: 'credential', text: 'API key or token' }),
      key,
      h(
        'label',
        { for: 'tenant' },
        'Tenant ',
        h('span', { class: 'hint', text: '(only for keys valid for every tenant)' }),
      ),
      tenant,
      h(
        'div',
        { class: 'row', style: null },
        h('button', { class: 'btn primary', type: 'submit', id: 'signin' }, 'Sign in'),
      ),
    );
    setMain(form);
    document.title = 'Sign in · Groundwork review';
    key.focus();
  }

  async function ensureMe() {
    if (state.me) return true;
    try {
      state.me = await api('/me');
      return true;
    } catch {
      return false;
    }
  }

  function chrome(current) {
    $('#nav').hidden = false;
    $('#who').hidden = false;
    $('#who-name').textContent = `${state.me.reviewer} · ${state.tenant}`;
    for (const [id, name] of [
      ['nav-queue', 'queue'],
      ['nav-stats', 'stats'],
    ]) {
      const a = $(`#${id}`);
      if (name === current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  // ---------- the queue ----------
  const queueView = { status: 'pending', text: '', sort: 'left' };

  function confidenceCell(confidence, threshold) {
    return h(
      'div',
      { class: 'conf' },
      h(
        'div',
        {
          class: 'bar',
          role: 'img',
          'aria-label': `confidence ${confidence.toFixed(2)}, threshold ${threshold.toFixed(2)}`,
        },
        Object.assign(h('span', { class: 'fill' }), {}),
        h('span', { class: 'mark' }),
      ),
      h('small', { text: `${confidence.toFixed(2)} / ${threshold.toFixed(2)}` }),
    );
  }
  function sizeConfidence(cell, confidence, threshold) {
    cell.querySelector('.fill').style.width = pct(Math.max(0, Math.min(1, confidence)));
    cell.querySelector('.mark').style.left = pct(Math.max(0, Math.min(1, threshold)));
    return cell;
  }

  function renderQueue() {
    chrome('queue');
    document.title = 'Review queue · Groundwork';
    const tbody = h('tbody', { id: 'queue-rows' });
    const updated = h('span', { class: 'updated', id: 'queue-updated', text: 'Loading…' });
    const error = h('div', { class: 'msg error', role: 'alert' });
    const statusSel = h(
      'select',
      {
        id: 'f-status',
        onchange: (e) => {
          queueView.status = e.target.value;
          draw();
        },
      },
      ...[
        ['pending', 'To do (open, claimed, escalated)'],
        ['open', 'Open'],
        ['claimed', 'Claimed'],
        ['escalated', 'Escalated'],
        ['decided', 'Decided'],
        ['all', 'All'],
      ].map(([v, t]) => h('option', { value: v, selected: v === queueView.status, text: t })),
    );
    const sortSel = h(
      'select',
      {
        id: 'f-sort',
        onchange: (e) => {
          queueView.sort = e.target.value;
          draw();
        },
      },
      ...[
        ['left', 'Time left (least first)'],
        ['age', 'Age (oldest first)'],
        ['confidence', 'Confidence (lowest first)'],
        ['newest', 'Newest first'],
      ].map(([v, t]) => h('option', { value: v, selected: v === queueView.sort, text: t })),
    );
    const text = h('input', {
      type: 'search',
      id: 'f-text',
      value: queueView.text,
      placeholder: 'Words of the question',
      oninput: (e) => {
        queueView.text = e.target.value;
        draw();
      },
    });
    let rows = [];
    let serverNow = Date.now();
    let fetchedAt = Date.now();

    function draw() {
      const now = serverNow + (Date.now() - fetchedAt);
      const q = queueView.text.trim().toLowerCase();
      const decided = ['approved', 'edited', 'rejected', 'expired', 'closed'];
      const shown = rows.filter((r) => {
        if (q && !r.question.toLowerCase().includes(q)) return false;
        if (queueView.status === 'pending') return ['open', 'claimed', 'escalated'].includes(r.status);
        if (queueView.status === 'decided') return decided.includes(r.status);
        if (queueView.status === 'all') return true;
        return r.status === queueView.status;
      });
      const left = (r) => (r.escalatesAt && !r.escalatedAt ? Date.parse(r.escalatesAt) - now : Infinity);
      const sorters = {
        left: (a, b) => left(a) - left(b) || Date.parse(a.openedAt) - Date.parse(b.openedAt),
        age: (a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt),
        confidence: (a, b) => a.confidence - b.confidence,
        newest: (a, b) => Date.parse(b.openedAt) - Date.parse(a.openedAt),
      };
      shown.sort(sorters[queueView.sort]);
      tbody.replaceChildren(
        ...(shown.length === 0
          ? [
              h(
                'tr',
                {},
                h('td', { colspan: 6, class: 'empty', text: 'No tasks here. New ones appear by themselves.' }),
              ),
            ]
          : shown.map((r) => {
              const pending = ['open', 'claimed'].includes(r.status);
              const timeLeft =
                r.status === 'escalated'
                  ? 'escalated'
                  : pending && r.escalatesAt
                    ? duration(Date.parse(r.escalatesAt) - now)
                    : '—';
              return h(
                'tr',
                { 'data-task': r.taskId },
                h(
                  'td',
                  { class: 'q', 'data-label': 'Question' },
                  h('a', {
                    href: `#/t/${encodeURIComponent(state.tenant)}/task/${encodeURIComponent(r.taskId)}`,
                    text: r.question,
                  }),
                ),
                h('td', { 'data-label': 'Status' }, badge(r.status)),
                h(
                  'td',
                  { 'data-label': 'Confidence' },
                  sizeConfidence(confidenceCell(r.confidence, r.threshold), r.confidence, r.threshold),
                ),
                h('td', { 'data-label': 'Age', text: duration(now - Date.parse(r.openedAt)) }),
                h('td', { 'data-label': 'Time left', text: timeLeft }),
                h('td', {
                  'data-label': 'Reviewer',
                  text: r.claim ? `${r.claim.reviewerId} (claimed)` : r.reviewerId || '—',
                }),
              );
            })),
      );
    }

    async function refresh() {
      try {
        const body = await api(`${tenantPath()}/queue`);
        rows = body.tasks;
        serverNow = Date.parse(body.now);
        fetchedAt = Date.now();
        error.textContent = '';
        updated.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${POLL_MS / 1000} s`;
        draw();
      } catch (e) {
        if (e.status === 401) return;
        error.textContent = e.message;
      }
      poll = setTimeout(refresh, POLL_MS);
    }

    setMain(
      h('div', { class: 'spread' }, h('h1', { text: 'Review queue' }), updated),
      error,
      h(
        'div',
        { class: 'panel filters', role: 'search' },
        h('div', { class: 'wide' }, h('label', { for: 'f-text', text: 'Search questions' }), text),
        h('div', {}, h('label', { for: 'f-status', text: 'Show' }), statusSel),
        h('div', {}, h('label', { for: 'f-sort', text: 'Sort by' }), sortSel),
      ),
      h(
        'table',
        { class: 'queue', 'aria-describedby': 'queue-updated' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Question', 'Status', 'Confidence / threshold', 'Age', 'Time left', 'Reviewer'].map((t) =>
              h('th', { scope: 'col', text: t }),
            ),
          ),
        ),
        tbody,
      ),
    );
    void refresh();
  }

  // ---------- the task page ----------
  async function renderTask(tenant, taskId) {
    chrome('queue');
    if (tenant !== state.tenant) return renderNotFound();
    let task;
    try {
      task = await api(taskPath(taskId));
    } catch (e) {
      if (e.status === 404) return renderNotFound();
      if (e.status === 401) return;
      return setMain(h('div', { class: 'msg error', role: 'alert', text: e.message }));
    }
    document.title = `Review: ${task.question.slice(0, 60)} · Groundwork`;
    const me = state.me.reviewer;
    const message = h('div', { class: 'msg', id: 'task-message', role: 'alert' });
    const say = (text, kind) => {
      message.className = `msg ${kind || 'error'}`;
      message.textContent = text;
    };
    const pending = () => task.status === 'open' || task.status === 'escalated';
    const claimedByMe = () =>
      task.claim && task.claim.reviewerId === me && Date.parse(task.claim.expiresAt) > Date.now();
    const claimedByOther = () =>
      task.claim && task.claim.reviewerId !== me && Date.parse(task.claim.expiresAt) > Date.now();
    const citedIds = new Set(task.draft.citations.map((c) => c.chunkId));

    // What the claim bar and the decision panel show: redrawn only when it changed, so polling never takes the focus
    // or the caret from a reviewer who is typing.
    const shownKey = () => JSON.stringify([task.status, task.claim, task.outcome]);
    let shown = '';
    async function reload() {
      try {
        task = await api(taskPath(taskId));
      } catch {
        // Not found or unreachable now: keep showing the last state.
        return;
      }
      if (shownKey() === shown) return;
      redraw();
    }
    function redraw() {
      shown = shownKey();
      drawClaim();
      drawDecision();
    }

    // Claim bar
    const claimBar = h('div', { class: 'claimbar', id: 'claimbar' });
    function drawClaim() {
      const status = badge(
        task.outcome ? task.outcome.decision : claimedByMe() || claimedByOther() ? 'claimed' : task.status,
      );
      let text;
      let actions = [];
      if (task.outcome) {
        text = `Decided: ${task.outcome.decision}${task.outcome.reviewerId ? ` by ${task.outcome.reviewerId}` : ''}.`;
      } else if (claimedByMe()) {
        text = `You have claimed this task until ${new Date(task.claim.expiresAt).toLocaleTimeString()}.`;
        actions = [h('button', { class: 'btn', type: 'button', id: 'release', onclick: release }, 'Release')];
      } else if (claimedByOther()) {
        text = `Claimed by ${task.claim.reviewerId} until ${new Date(task.claim.expiresAt).toLocaleTimeString()}.`;
      } else {
        text = 'Claim the task to decide it; nobody else can while you hold it.';
        actions = [
          h(
            'button',
            { class: 'btn primary', type: 'button', id: 'claim', onclick: claim },
            'Claim ',
            h('kbd', { text: 'c' }),
          ),
        ];
      }
      claimBar.replaceChildren(status, h('span', { id: 'claim-text', text }), ...actions);
    }

    async function act(path, body, done) {
      try {
        const out = await api(`${taskPath(taskId)}/${path}`, { method: 'POST', body: body || {} });
        message.textContent = '';
        await done(out);
      } catch (e) {
        if (e.status !== 401) say(e.message);
        await reload();
      }
    }
    async function claim() {
      await act('claim', {}, async () => {
        announce('Task claimed.');
        say('You claimed this task.', 'ok');
        await reload();
      });
    }
    async function release() {
      await act('release', {}, async () => {
        announce('Claim released.');
        say('Claim released.', 'ok');
        await reload();
      });
    }

    // Why it escalated
    const why = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'why-title' },
      h('h2', { id: 'why-title', text: 'Why it needs a reviewer' }),
      h(
        'dl',
        { class: 'kv' },
        h('dt', { text: 'Confidence' }),
        h('dd', { id: 'confidence', text: task.draft.confidence.toFixed(2) }),
        h('dt', { text: 'Threshold' }),
        h('dd', { id: 'threshold', text: task.threshold.toFixed(2) }),
        task.draft.reason ? [h('dt', { text: 'Reason' }), h('dd', { text: task.draft.reason })] : null,
        h('dt', { text: 'Opened' }),
        h('dd', { text: new Date(task.openedAt).toLocaleString() }),
        task.escalatedAt
          ? [h('dt', { text: 'Escalated' }), h('dd', { text: new Date(task.escalatedAt).toLocaleString() })]
          : task.escalatesAt
            ? [h('dt', { text: 'Escalates' }), h('dd', { text: new Date(task.escalatesAt).toLocaleString() })]
            : null,
      ),
      weakestSignals(task.draft.signals),
    );

    // Draft
    const draft = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'draft-title' },
      h('h2', { id: 'draft-title', text: 'Drafted answer' }),
      h('p', { class: 'answer', id: 'draft-answer', text: task.draft.answer || '(no answer drafted)' }),
      task.draft.citations.length
        ? h(
            'p',
            {},
            'Cites ',
            ...task.draft.citations.map((c) =>
              h('span', { class: 'cite', text: `${c.sourceName || c.documentId}, ${c.locator}` }),
            ),
          )
        : h('p', { class: 'hint', text: 'The draft cites nothing.' }),
    );

    // Sources
    const allSources = () => [
      ...task.retrieved,
      ...(task.found || []).filter((f) => !task.retrieved.some((r) => r.chunkId === f.chunkId)),
    ];
    const sourceList = h('ul', { class: 'sources', id: 'sources' });
    const sourceItems = new Map();
    function drawSources() {
      sourceList.replaceChildren(
        ...allSources().map((r, i) => {
          const known = sourceItems.get(r.chunkId);
          if (known) return known;
          const view = h('div', { class: 'view', hidden: true });
          const toggle = h(
            'button',
            {
              class: 'btn',
              type: 'button',
              'aria-expanded': 'false',
              'data-chunk': r.chunkId,
              onclick: async () => {
                const open = toggle.getAttribute('aria-expanded') === 'true';
                toggle.setAttribute('aria-expanded', String(!open));
                view.hidden = open;
                if (!open && !view.dataset.loaded) await loadSource(r, view);
              },
            },
            'Show source',
          );
          const item = h(
            'li',
            { class: `source${citedIds.has(r.chunkId) ? ' cited' : ''}`, 'data-chunk': r.chunkId },
            h(
              'div',
              { class: 'spread' },
              h('strong', { text: `${i + 1}. ${r.sourceName || r.documentId}` }),
              h('span', {
                class: 'meta',
                text: `${r.locator} · score ${r.score.toFixed(2)}${citedIds.has(r.chunkId) ? ' · cited by the draft' : ''}`,
              }),
            ),
            h('p', { class: 'preview', text: r.preview }),
            toggle,
            view,
          );
          sourceItems.set(r.chunkId, item);
          return item;
        }),
      );
    }

    async function loadSource(r, view) {
      view.replaceChildren(h('p', { class: 'hint', text: 'Loading the source…' }));
      let v;
      for (let attempt = 0; ; attempt++) {
        try {
          v = await api(`${taskPath(taskId)}/sources/${encodeURIComponent(r.chunkId)}`);
          break;
        } catch (e) {
          if (e.code === 'SOURCE_NOT_READY' && attempt < 20) {
            await new Promise((res) => setTimeout(res, 1000));
            continue;
          }
          view.replaceChildren(h('p', { class: 'msg error', text: e.message }));
          return;
        }
      }
      view.dataset.loaded = 'true';
      if (v.kind === 'pdf') {
        const frame = h('div', { class: 'pdfpage', 'data-kind': 'pdf' });
        const img = h('img', { alt: `Page ${v.page} of ${v.sourceName}, the cited passage highlighted` });
        frame.append(img);
        for (const b of v.highlights) {
          const box = h('span', { class: 'hl', 'data-testid': 'highlight' });
          box.style.left = pct(b.x);
          box.style.top = pct(b.y);
          box.style.width = pct(b.w);
          box.style.height = pct(b.h);
          frame.append(box);
        }
        view.replaceChildren(
          h('p', { class: 'meta', text: `${v.sourceName}, page ${v.page} (${v.highlights.length} highlighted lines)` }),
          frame,
        );
        try {
          const blob = await api(`${taskPath(taskId)}/sources/${encodeURIComponent(r.chunkId)}/page.png`, {
            raw: true,
          });
          img.src = URL.createObjectURL(blob);
        } catch (e) {
          view.append(h('p', { class: 'msg error', text: 'The page image is not available.' }));
        }
      } else if (v.kind === 'sheet') {
        const width = Math.max(v.header.length, ...v.rows.map((row) => row.length));
        view.replaceChildren(
          h('p', { class: 'meta', text: `${v.sourceName}, sheet ${v.sheet}, cells ${v.range}` }),
          h(
            'div',
            { class: 'sheet-wrap' },
            h(
              'table',
              { class: 'sheet', 'data-kind': 'sheet' },
              h('caption', { class: 'visually-hidden', text: `${v.sheet}!${v.range}` }),
              v.header.length
                ? h(
                    'thead',
                    {},
                    h(
                      'tr',
                      {},
                      h('td', {}),
                      ...Array.from({ length: width }, (_, i) => h('th', { scope: 'col', text: v.header[i] || '' })),
                    ),
                  )
                : null,
              h(
                'tbody',
                {},
                ...v.rows.map((row, i) =>
                  h(
                    'tr',
                    {},
                    h('th', { scope: 'row', text: String(v.firstRow + i) }),
                    ...Array.from({ length: width }, (_, j) => h('td', { text: row[j] || '' })),
                  ),
                ),
              ),
            ),
          ),
        );
      } else {
        view.replaceChildren(
          h('p', { class: 'meta', text: `${v.sourceName}, ${v.locator}` }),
          h(
            'div',
            { class: 'lines', 'data-kind': 'text' },
            ...v.lines.map((l) =>
              h('div', { class: l.cited ? 'cited' : '' }, h('span', { class: 'n', text: String(l.n) }), l.text),
            ),
          ),
        );
      }
    }

    // Decisions
    const decision = h('section', { class: 'panel decide', 'aria-labelledby': 'decide-title' });
    let mode = null;
    // Open forms survive redraws (polling, refusals): what the reviewer typed stays.
    const forms = { edit: null, reject: null };
    function drawDecision() {
      const can = pending() && claimedByMe();
      const title = h('h2', { id: 'decide-title', text: 'Decision' });
      if (task.outcome) {
        decision.replaceChildren(
          ...kids(
            title,
            h('p', {}, badge(task.outcome.decision), ` by ${task.outcome.reviewerId || 'nobody'}`),
            task.outcome.answer ? h('p', { class: 'answer', id: 'final-answer', text: task.outcome.answer }) : null,
            task.outcome.note ? h('p', { class: 'hint', text: `Note: ${task.outcome.note}` }) : null,
          ),
        );
        return;
      }
      const buttons = h(
        'div',
        { class: 'row' },
        h(
          'button',
          { class: 'btn good', type: 'button', id: 'approve', disabled: !can, onclick: approve },
          'Approve ',
          h('kbd', { text: 'a' }),
        ),
        h(
          'button',
          { class: 'btn', type: 'button', id: 'edit', disabled: !can, onclick: () => openForm('edit') },
          'Edit ',
          h('kbd', { text: 'e' }),
        ),
        h(
          'button',
          { class: 'btn danger', type: 'button', id: 'reject', disabled: !can, onclick: () => openForm('reject') },
          'Reject ',
          h('kbd', { text: 'r' }),
        ),
      );
      decision.replaceChildren(
        ...kids(
          title,
          can
            ? null
            : h('p', {
                class: 'hint',
                text: claimedByOther()
                  ? `${task.claim.reviewerId} is working on this task.`
                  : 'Claim the task to decide it.',
              }),
          buttons,
          can && mode === 'edit' ? (forms.edit ??= editForm()) : null,
          can && mode === 'reject' ? (forms.reject ??= rejectForm()) : null,
        ),
      );
    }
    function openForm(which) {
      if (which !== mode) {
        forms.edit = null;
        forms.reject = null;
      }
      mode = which;
      drawDecision();
      const first = decision.querySelector('textarea');
      if (first) first.focus();
    }
    async function approve() {
      await act('approve', {}, async (out) => {
        announce('Approved.');
        say(`Approved. The answer went back to the asker.`, 'ok');
        task.outcome = out;
        task.status = out.decision;
        redraw();
      });
    }
    function editForm() {
      const answer = h('textarea', { id: 'edit-answer', name: 'answer' });
      answer.value = task.draft.answer;
      const note = h('input', { type: 'text', id: 'edit-note', name: 'note' });
      const choices = h('ul', { class: 'choices', id: 'edit-citations' });
      const selected = new Set(task.draft.citations.map((c) => c.chunkId));
      const drawChoices = () =>
        choices.replaceChildren(
          ...allSources().map((r, i) => {
            const box = h('input', {
              type: 'checkbox',
              value: r.chunkId,
              checked: selected.has(r.chunkId),
              onchange: (e) => (e.target.checked ? selected.add(r.chunkId) : selected.delete(r.chunkId)),
            });
            return h(
              'li',
              {},
              h(
                'label',
                {},
                box,
                h(
                  'span',
                  {},
                  h('strong', { text: `${i + 1}. ${r.sourceName || r.documentId}, ${r.locator}` }),
                  h('br'),
                  h('span', { class: 'hint', text: r.preview.slice(0, 140) }),
                ),
              ),
            );
          }),
        );
      drawChoices();
      const search = h('input', { type: 'search', id: 'edit-search', name: 'search' });
      const byId = h('input', { type: 'text', id: 'edit-chunk-id', name: 'chunk' });
      const found = h('p', { class: 'hint', id: 'search-result' });
      return h(
        'form',
        {
          id: 'edit-form',
          onsubmit: async (ev) => {
            ev.preventDefault();
            const ids = [...selected];
            if (byId.value.trim()) ids.push(byId.value.trim());
            await act(
              'edit',
              { answer: answer.value, citations: ids.map((chunkId) => ({ chunkId })), note: note.value || undefined },
              async (out) => {
                announce('Edited answer saved.');
                say('Your edited answer went back to the asker.', 'ok');
                task.outcome = out;
                task.status = out.decision;
                mode = null;
                redraw();
              },
            );
          },
        },
        h('label', { for: 'edit-answer', text: 'Corrected answer' }),
        answer,
        h('fieldset', { class: 'plain' }, h('legend', { text: 'Citations (chunks the answer rests on)' }), choices),
        h(
          'label',
          { for: 'edit-search' },
          "Search the tenant's documents ",
          h('span', { class: 'hint', text: '(for a chunk retrieval missed)' }),
        ),
        h(
          'div',
          { class: 'row' },
          search,
          h(
            'button',
            {
              class: 'btn',
              type: 'button',
              id: 'edit-search-go',
              onclick: async () => {
                found.textContent = 'Searching…';
                await act('search', { text: search.value }, async (out) => {
                  task.found = [
                    ...(task.found || []),
                    ...out.chunks.filter((c) => !(task.found || []).some((f) => f.chunkId === c.chunkId)),
                  ];
                  found.textContent = `${out.chunks.length} chunks found; they are listed above and below.`;
                  drawChoices();
                  drawSources();
                });
                if (message.classList.contains('error') && message.textContent) found.textContent = '';
              },
            },
            'Search',
          ),
        ),
        found,
        h(
          'label',
          { for: 'edit-chunk-id' },
          'Or cite a chunk by its id ',
          h('span', { class: 'hint', text: '(optional)' }),
        ),
        byId,
        h('label', { for: 'edit-note' }, 'Note ', h('span', { class: 'hint', text: '(optional)' })),
        note,
        h(
          'div',
          { class: 'row' },
          h('button', { class: 'btn primary', type: 'submit', id: 'edit-submit' }, 'Save edited answer'),
          h('button', { class: 'btn', type: 'button', onclick: () => openForm(null) }, 'Cancel'),
        ),
      );
    }
    function rejectForm() {
      const reason = h('textarea', { id: 'reject-reason', name: 'reason' });
      return h(
        'form',
        {
          id: 'reject-form',
          onsubmit: async (ev) => {
            ev.preventDefault();
            await act('reject', { reason: reason.value }, async (out) => {
              announce('Rejected.');
              say('Rejected: the asker is told no answer can be given.', 'ok');
              task.outcome = out;
              task.status = out.decision;
              mode = null;
              redraw();
            });
          },
        },
        h('label', { for: 'reject-reason', text: 'Why is the draft wrong?' }),
        reason,
        h(
          'div',
          { class: 'row' },
          h('button', { class: 'btn danger', type: 'submit', id: 'reject-submit' }, 'Reject the draft'),
          h('button', { class: 'btn', type: 'button', onclick: () => openForm(null) }, 'Cancel'),
        ),
      );
    }

    redraw();
    drawSources();
    setMain(
      h('p', {}, h('a', { href: '#/queue', text: '← Back to the queue' })),
      h('h1', { class: 'visually-hidden', text: 'Review task' }),
      h('p', { class: 'question', id: 'question', text: task.question }),
      claimBar,
      message,
      h(
        'div',
        { class: 'task-grid' },
        h(
          'div',
          {},
          draft,
          h(
            'section',
            { class: 'panel', 'aria-labelledby': 'sources-title' },
            h('h2', { id: 'sources-title', text: 'Retrieved sources' }),
            sourceList,
          ),
        ),
        h('div', {}, decision, why),
      ),
    );
    keyHandler = (ev) => {
      const t = ev.target;
      if (
        ev.ctrlKey ||
        ev.metaKey ||
        ev.altKey ||
        (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT'))
      ) {
        if (ev.key === 'Escape' && mode) openForm(null);
        return;
      }
      const can = pending() && claimedByMe();
      if (ev.key === 'c' && pending() && !claimedByMe()) void claim();
      else if (ev.key === 'a' && can) void approve();
      else if (ev.key === 'e' && can) openForm('edit');
      else if (ev.key === 'r' && can) openForm('reject');
      else if (ev.key === 'Escape' && mode) openForm(null);
      else return;
      ev.preventDefault();
    };
    document.addEventListener('keydown', keyHandler);
    // Claims and decisions by others show up without a reload.
    const watch = async () => {
      if (!task.outcome) await reload();
      poll = setTimeout(watch, POLL_MS);
    };
    poll = setTimeout(watch, POLL_MS);
  }

  function weakestSignals(signals) {
    if (!signals || typeof signals !== 'object') return null;
    const list = Object.entries(signals)
      .filter(([, v]) => typeof v === 'number' && Number.isFinite(v))
      .sort((a, b) => a[1] - b[1])
      .slice(0, 3);
    if (list.length === 0) return null;
    return h(
      'div',
      {},
      h('h3', { text: 'Weakest signals' }),
      h('ul', { class: 'signals', id: 'signals' }, ...list.map(([k, v]) => h('li', { text: `${k}: ${v.toFixed(2)}` }))),
    );
  }

  function renderNotFound() {
    document.title = 'Not found · Groundwork review';
    setMain(
      h(
        'div',
        { class: 'panel' },
        h('h1', { text: 'No such review task' }),
        h('p', { class: 'msg error', role: 'alert', id: 'not-found', text: 'No such review task for this tenant.' }),
        h('a', { href: '#/queue', text: 'Back to the queue' }),
      ),
    );
  }

  // ---------- statistics ----------
  function barChart({ title, labels, series, colors, max, format }) {
    const W = 560;
    const H = 220;
    const pad = { l: 36, r: 10, t: 16, b: 34 };
    const n = labels.length;
    const bw = (W - pad.l - pad.r) / Math.max(1, n);
    const top = Math.max(
      1,
      max ?? Math.max(...labels.map((_, i) => series.reduce((sum, se) => sum + (se.values[i] || 0), 0))),
    );
    const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / top);
    const g = [];
    for (const frac of [0, 0.5, 1]) {
      g.push(s('line', { x1: pad.l, x2: W - pad.r, y1: y(top * frac), y2: y(top * frac), stroke: '#d5dae1' }));
      g.push(
        s(
          'text',
          { x: pad.l - 6, y: y(top * frac) + 4, 'text-anchor': 'end', class: 'axis' },
          format ? format(top * frac) : String(Math.round(top * frac * 10) / 10),
        ),
      );
    }
    labels.forEach((label, i) => {
      let base = 0;
      series.forEach((se, k) => {
        const v = se.values[i] || 0;
        if (v > 0) {
          const rect = s('rect', {
            x: pad.l + i * bw + bw * 0.15,
            width: bw * 0.7,
            y: y(base + v),
            height: y(base) - y(base + v),
            fill: colors[k],
            rx: 2,
          });
          rect.append(s('title', {}, `${label}: ${se.name} ${format ? format(v) : v}`));
          g.push(rect);
        }
        base += v;
      });
      g.push(
        s('text', { x: pad.l + i * bw + bw / 2, y: H - pad.b + 16, 'text-anchor': 'middle', class: 'axis' }, label),
      );
      if (base > 0)
        g.push(
          s(
            'text',
            { x: pad.l + i * bw + bw / 2, y: y(base) - 4, 'text-anchor': 'middle', class: 'val' },
            format ? format(base) : String(base),
          ),
        );
    });
    return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title }, s('title', {}, title), ...g);
  }
  function legend(series, colors) {
    return h(
      'div',
      { class: 'legend' },
      ...series.map((se, k) => {
        const swatch = h('i');
        swatch.style.background = colors[k];
        return h('span', {}, swatch, se);
      }),
    );
  }

  async function renderStats() {
    chrome('stats');
    document.title = 'Review statistics · Groundwork';
    setMain(h('h1', { text: 'Review statistics' }), h('p', { class: 'hint', text: 'Loading…' }));
    let st;
    try {
      st = await api(`${tenantPath()}/stats`);
    } catch (e) {
      if (e.status !== 401) main().append(h('div', { class: 'msg error', role: 'alert', text: e.message }));
      return;
    }
    const decColors = ['#146c2e', '#0b57d0', '#a50e0e'];
    const median = st.medianDecisionMs === null ? '—' : duration(st.medianDecisionMs);
    const weekly = st.weekly;
    const totals = weekly.reduce((t, w) => ({ a: t.a + w.approved, e: t.e + w.edited, r: t.r + w.rejected }), {
      a: 0,
      e: 0,
      r: 0,
    });
    const all = totals.a + totals.e + totals.r;
    setMain(
      h('h1', { text: 'Review statistics' }),
      h(
        'div',
        { class: 'stats-grid' },
        h(
          'section',
          { class: 'panel chart', 'aria-labelledby': 'st-backlog' },
          h('h2', { id: 'st-backlog', text: 'Backlog by age' }),
          barChart({
            title: 'Open tasks by age',
            labels: st.backlog.map((b) => b.bucket),
            series: [{ name: 'tasks', values: st.backlog.map((b) => b.count) }],
            colors: ['#c26a00'],
          }),
        ),
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'st-median' },
          h('h2', { id: 'st-median', text: 'Median time to decision' }),
          h('p', { class: 'big', id: 'median', text: median }),
          h('p', { class: 'hint', text: `over ${st.decided} decided tasks` }),
          h('h3', { text: 'Decisions (8 weeks)' }),
          h('p', {
            text: all
              ? `approve ${pct(totals.a / all)} · edit ${pct(totals.e / all)} · reject ${pct(totals.r / all)}`
              : 'No decisions yet.',
          }),
        ),
        h(
          'section',
          { class: 'panel chart', 'aria-labelledby': 'st-weekly' },
          h('h2', { id: 'st-weekly', text: 'Decisions per week' }),
          barChart({
            title: 'Approved, edited and rejected per week',
            labels: weekly.map((w) => w.week.slice(5)),
            series: [
              { name: 'approved', values: weekly.map((w) => w.approved) },
              { name: 'edited', values: weekly.map((w) => w.edited) },
              { name: 'rejected', values: weekly.map((w) => w.rejected) },
            ],
            colors: decColors,
          }),
          legend(['approved', 'edited', 'rejected'], decColors),
        ),
        h(
          'section',
          { class: 'panel chart', 'aria-labelledby': 'st-agree' },
          h('h2', { id: 'st-agree', text: 'Reviewers agree with the model' }),
          barChart({
            title: 'Share of decided tasks approved as drafted, per confidence band',
            labels: st.agreement.map((a) => a.band),
            series: [{ name: 'agree', values: st.agreement.map((a) => a.rate ?? 0) }],
            colors: ['#0b57d0'],
            max: 1,
            format: (v) => pct(v),
          }),
          h('p', {
            class: 'hint',
            text:
              'Approved as drafted ÷ decided, by the draft’s confidence. ' +
              st.agreement.map((a) => `${a.band}: ${a.decided}`).join(' · '),
          }),
        ),
      ),
    );
  }

  // ---------- routing ----------
  async function route() {
    if (!state.credential) return renderSignIn();
    if (!(await ensureMe())) return;
    const m = /^#\/t\/([^/]+)\/task\/(.+)$/.exec(location.hash);
    if (m) return renderTask(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    if (location.pathname.replace(/\/$/, '') === '/console/stats') return renderStats();
    return renderQueue();
  }

  window.addEventListener('hashchange', () => void route());
  document.addEventListener('DOMContentLoaded', () => {
    $('#signout').addEventListener('click', () => signOut('You signed out.'));
    void route();
  });
})();
