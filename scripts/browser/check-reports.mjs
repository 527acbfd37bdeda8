// Checks the demo's plan report and audit report in a real browser (Debian's headless
// Chromium, driven by playwright-core): no horizontal overflow at 1280 px, every internal link
// resolves, findings and actions link both ways, Japanese text is drawn with real glyphs, the
// SVG summary shows the plan's numbers, nothing is fetched from anywhere; then saves
// screenshots. Run by scripts/test-browser, which generates the reports.
//
//   node check-reports.mjs --plan PLAN_DIR --audit AUDIT_DIR --screenshots DIR --ja-fonts FILE
//
// --ja-fonts: a file with the families `fc-list :lang=ja family` lists, one a line.
// Exit 0 only when every check ran and passed; any check that cannot run fails.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const WIDTHS = [1280, 1400];
const HEIGHT = 900;

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (argv[i + 1] === undefined) throw new Error(`missing value for ${argv[i]}`);
    out[key] = argv[i + 1];
  }
  for (const k of ['plan', 'audit', 'screenshots', 'ja-fonts']) {
    if (!out[k]) throw new Error(`--${k} is required`);
  }
  return out;
}

let passed = 0;
const failed = [];
function check(report, name, ok, detail = '') {
  if (ok) {
    passed += 1;
    console.log(`ok    ${report}: ${name}`);
  } else {
    failed.push(`${report}: ${name}`);
    console.log(`FAIL  ${report}: ${name}${detail ? `\n      ${detail}` : ''}`);
  }
}

const args = parseArgs(process.argv.slice(2));
const jaFonts = fs
  .readFileSync(args['ja-fonts'], 'utf8')
  .split('\n')
  .flatMap((l) => l.split(','))
  .map((s) => s.trim())
  .filter(Boolean);
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));

const reports = [
  {
    name: 'report.html',
    file: path.join(args.plan, 'report.html'),
    plan: readJson(path.join(args.plan, 'plan.json')),
    screenshot: 'report.png',
  },
  {
    name: 'audit.html',
    file: path.join(args.audit, 'audit.html'),
    plan: readJson(path.join(args.audit, 'recovery-plan', 'plan.json')),
    screenshot: 'audit.png',
  },
];

// A fresh profile, and the flags that keep Chromium off this machine's closed network.
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsnap-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: WIDTHS[0], height: HEIGHT },
  deviceScaleFactor: 1,
  timeout: 60_000,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

try {
  console.log(`chromium ${browser.browser()?.version() ?? '(version unknown)'}`);
  for (const r of reports) {
    await checkReport(r);
  }
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

console.log(`browser checks: ${passed} passed, ${failed.length} failed`);
if (failed.length > 0) {
  for (const f of failed) console.log(`  failed: ${f}`);
  process.exit(1);
}
if (passed === 0) {
  console.log('no check ran');
  process.exit(1);
}

async function checkReport(r) {
  const page = await browser.newPage();
  const url = pathToFileURL(path.resolve(r.file)).href;
  const fetched = [];
  const errors = [];
  page.on('request', (req) => {
    if (req.url() !== url) fetched.push(req.url());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.setViewportSize({ width: WIDTHS[0], height: HEIGHT });
  const response = await page.goto(url, { waitUntil: 'load' });
  check(r.name, 'opens', response === null || response.ok(), `status ${response?.status()}`);
  await page.evaluate(() => document.fonts.ready);

  // Self-contained: opened offline from a file share, it must need nothing else.
  check(r.name, 'fetches nothing but itself', fetched.length === 0, fetched.join(', '));
  const external = await page.evaluate(() =>
    [...document.querySelectorAll('script, link, img, iframe, object, embed, [src], a[href]')]
      .filter((e) => e.tagName.toLowerCase() !== 'a' || !e.getAttribute('href').startsWith('#'))
      .map((e) => e.outerHTML.slice(0, 120)),
  );
  check(r.name, 'no script, external asset or external link', external.length === 0, external.join(' | '));

  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: HEIGHT });
    const o = await page.evaluate(overflow);
    check(
      r.name,
      `no horizontal overflow at ${width} px (scrollWidth ${o.scrollWidth}, innerWidth ${o.innerWidth}, ${o.elements} elements measured)`,
      o.scrollWidth <= o.innerWidth && o.elements > 50,
    );
    check(r.name, `no element wider than the ${width} px viewport`, o.wide.length === 0, o.wide.join('\n      '));
    check(r.name, `no cell or block whose content spills out at ${width} px`, o.spill.length === 0, o.spill.join('\n      '));
  }
  await page.setViewportSize({ width: WIDTHS[0], height: HEIGHT });

  const l = await page.evaluate(links);
  check(r.name, `every internal link resolves (${l.count} links)`, l.count > 0 && l.dead.length === 0, `dead: ${l.dead.join(', ')}`);
  check(r.name, 'element ids are unique', l.duplicateIds.length === 0, l.duplicateIds.join(', '));
  await checkCrossLinks(page, r);

  // A link followed in the browser lands on its row, scrolled into view.
  const first = await page.$('tr[id^="finding-"] a[href^="#action-"]');
  check(r.name, 'a finding links to an action', first !== null);
  if (first) {
    const href = await first.getAttribute('href');
    await first.click();
    const landed = await page.evaluate((h) => {
      const t = document.getElementById(h.slice(1));
      const rect = t.getBoundingClientRect();
      return { hash: location.hash, visible: rect.top >= 0 && rect.top < innerHeight };
    }, href);
    check(r.name, `clicking ${href} lands on that row`, landed.hash === href && landed.visible, JSON.stringify(landed));
    await page.evaluate(() => {
      history.replaceState(null, '', location.pathname);
      window.scrollTo(0, 0);
    });
  }

  await checkJapanese(page, r);
  await checkSummary(page, r);
  check(r.name, 'no script error or console error', errors.length === 0, errors.join(' | '));

  fs.mkdirSync(args.screenshots, { recursive: true });
  const shot = path.join(args.screenshots, r.screenshot);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: shot, clip: { x: 0, y: 0, width: WIDTHS[0], height: 1100 } });
  check(r.name, `screenshot saved to ${shot}`, fs.statSync(shot).size > 10_000);
  await page.close();
}

// Runs in the page: overflow of the document and of every element.
function overflow() {
  const limit = document.documentElement.clientWidth;
  const describe = (e) => {
    const text = (e.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 70);
    return `<${e.tagName.toLowerCase()}${e.id ? ` id=${e.id}` : ''}${e.getAttribute('class') ? ` class=${e.getAttribute('class')}` : ''}> ${text}`;
  };
  const wide = [];
  const spill = [];
  const all = [...document.body.querySelectorAll('*')];
  for (const e of all) {
    const rect = e.getBoundingClientRect();
    if (rect.width === 0 && rect.height === 0) continue;
    if (rect.right > limit + 0.5 || rect.left < -0.5 || rect.width > limit) {
      wide.push(`${describe(e)} (left ${rect.left.toFixed(0)}, right ${rect.right.toFixed(0)})`);
    }
    // Content sticking out of its box overlaps the next column even inside the page.
    const display = getComputedStyle(e).display;
    if (e instanceof HTMLElement && !display.startsWith('inline') && display !== 'contents' && e.scrollWidth > e.clientWidth + 1) {
      spill.push(`${describe(e)} (content ${e.scrollWidth} px in a box of ${e.clientWidth} px)`);
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    elements: all.length,
    wide: wide.slice(0, 10),
    spill: spill.slice(0, 10),
  };
}

// Runs in the page: every href="#…" names an element of the page.
function links() {
  const anchors = [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')).filter((h) => h.startsWith('#'));
  const dead = anchors.filter((h) => !document.getElementById(decodeURIComponent(h.slice(1))));
  const seen = new Set();
  const duplicateIds = [];
  for (const e of document.querySelectorAll('[id]')) {
    if (seen.has(e.id)) duplicateIds.push(e.id);
    seen.add(e.id);
  }
  return { count: anchors.length, dead: [...new Set(dead)], duplicateIds };
}

// Every finding of the plan is in the page and links to each of its actions; each of those
// actions links back to it.
async function checkCrossLinks(page, r) {
  const findings = r.plan.findings.map((f, i) => ({ id: `finding-${i + 1}`, actions: f.actions }));
  const result = await page.evaluate((findings) => {
    const missing = [];
    const noForward = [];
    const noBack = [];
    let pairs = 0;
    for (const f of findings) {
      const row = document.getElementById(f.id);
      if (!row) {
        missing.push(f.id);
        continue;
      }
      for (const seq of f.actions) {
        pairs += 1;
        const target = document.getElementById(`action-${seq}`);
        if (!row.querySelector(`a[href="#action-${seq}"]`)) {
          // An action the report leaves out is linked to the note saying where it is.
          const more = [...row.querySelectorAll('a[href^="#more-"]')].some((a) => a.textContent.startsWith(`#${seq} `));
          if (target || !more) noForward.push(`${f.id} → action-${seq}`);
          continue;
        }
        if (!target.querySelector(`a[href="#${f.id}"]`)) noBack.push(`action-${seq} → ${f.id}`);
      }
    }
    return { missing, noForward, noBack, pairs };
  }, findings);
  check(r.name, `every finding of the plan is shown (${findings.length})`, result.missing.length === 0, result.missing.join(', '));
  check(r.name, `findings link to their actions (${result.pairs} pairs)`, result.pairs > 0 && result.noForward.length === 0, result.noForward.join(', '));
  check(r.name, 'actions link back to the findings about them', result.pairs > 0 && result.noBack.length === 0, result.noBack.join(', '));
}

// Japanese text must be drawn with a font that has the glyphs: not tofu (the "missing glyph"
// box every character gets without a Japanese font), compared pixel by pixel on a canvas with
// the page's own font, and the font Chromium actually used must be one fontconfig lists for
// Japanese.
async function checkJapanese(page, r) {
  const sample = await page.evaluate(() => {
    const ja = /[\u3040-\u30ff\u3400-\u9fff]/;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!ja.test(n.data) || !n.parentElement.closest('td')) continue;
      const chars = [...new Set([...n.data].filter((c) => ja.test(c)))];
      if (chars.length < 2) continue;
      const el = n.parentElement;
      el.setAttribute('data-ja-sample', '');
      const style = getComputedStyle(el);
      return { text: n.data.trim().slice(0, 40), chars: chars.slice(0, 2), font: `${style.fontSize} ${style.fontFamily}` };
    }
    return null;
  });
  check(r.name, 'has Japanese text to check', sample !== null);
  if (!sample) return;

  const pixels = await page.evaluate(({ chars, font }) => {
    const draw = (s) => {
      const c = document.createElement('canvas');
      c.width = 64;
      c.height = 64;
      const ctx = c.getContext('2d');
      ctx.font = font.replace(/^[\d.]+px/, '40px');
      ctx.fillStyle = '#000';
      ctx.textBaseline = 'top';
      ctx.fillText(s, 4, 4);
      return Array.from(ctx.getImageData(0, 0, 64, 64).data);
    };
    const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
    const ink = (a) => a.filter((v, i) => i % 4 === 3 && v > 0).length;
    // U+10FFFD: a private-use code point no font draws, so it shows the missing-glyph box.
    const tofu = draw(String.fromCodePoint(0x10fffd));
    const [a, b] = chars.map(draw);
    return { inkA: ink(a), inkB: ink(b), aIsTofu: same(a, tofu), bIsTofu: same(b, tofu), aIsB: same(a, b) };
  }, sample);
  check(
    r.name,
    `Japanese glyphs are drawn, not tofu ("${sample.chars.join('')}" from "${sample.text}")`,
    pixels.inkA > 20 && pixels.inkB > 20 && !pixels.aIsTofu && !pixels.bIsTofu && !pixels.aIsB,
    JSON.stringify(pixels),
  );

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument');
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '[data-ja-sample]' });
  const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
  await cdp.detach();
  const used = fonts.map((f) => `${f.familyName} (${f.glyphCount} glyphs)`);
  const japanese = fonts.filter((f) => jaFonts.includes(f.familyName));
  check(
    r.name,
    `Japanese text uses a Japanese font: ${used.join(', ')}`,
    jaFonts.length > 0 && japanese.length > 0,
    jaFonts.length === 0 ? 'fontconfig lists no font for Japanese (fc-list :lang=ja)' : `fontconfig's Japanese fonts: ${jaFonts.join(', ')}`,
  );
}

// The SVG charts at the top: present, drawn, and the plan summary's numbers, bar by bar.
async function checkSummary(page, r) {
  const s = r.plan.summary;
  const charts = await page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('svg[data-chart]')].map((svg) => {
        const rect = svg.getBoundingClientRect();
        return [
          svg.dataset.chart,
          {
            total: Number(svg.dataset.total),
            heading: svg.querySelector(':scope > text')?.textContent ?? '',
            width: rect.width,
            top: rect.top + window.scrollY,
            bars: [...svg.querySelectorAll('g[data-key]')].map((g) => ({
              key: g.dataset.key,
              count: Number(g.dataset.count),
              shown: g.querySelector('.chart-count')?.textContent ?? '',
              bar: g.querySelector('rect')?.getBoundingClientRect().width ?? -1,
            })),
          },
        ];
      }),
    ),
  );
  const firstTable = await page.evaluate(() => {
    const t = document.querySelector('table');
    return t ? t.getBoundingClientRect().top + window.scrollY : Infinity;
  });
  const fmt = (n) => n.toLocaleString('en-US');
  for (const [name, total, expected] of [
    ['actions', s.actions, s.by_op],
    ['findings', s.findings, { error: s.by_severity.error ?? 0, warning: s.by_severity.warning ?? 0, info: s.by_severity.info ?? 0 }],
  ]) {
    const c = charts[name];
    check(r.name, `SVG chart of ${name} is present and drawn`, c !== undefined && c.width > 200, JSON.stringify(c));
    if (!c) continue;
    check(r.name, `${name} chart is at the top, above every table`, c.top < firstTable, `chart at ${c.top}, first table at ${firstTable}`);
    check(r.name, `${name} chart total is ${total}`, c.total === total && c.heading.includes(`(${fmt(total)})`), `${c.total}, "${c.heading}"`);
    const got = Object.fromEntries(c.bars.map((b) => [b.key, b.count]));
    check(r.name, `${name} chart bars are the summary's counts ${JSON.stringify(expected)}`, JSON.stringify(got) === JSON.stringify(expected) || sameCounts(got, expected), JSON.stringify(got));
    const wrong = c.bars.filter((b) => b.shown !== fmt(b.count));
    check(r.name, `${name} chart prints each count next to its bar`, wrong.length === 0, JSON.stringify(wrong));
    const max = Math.max(...c.bars.map((b) => b.count));
    const unfair = c.bars.filter((b) => (b.count === 0 ? b.bar > 0.5 : b.bar <= 0 || (b.count === max && c.bars.some((o) => o.bar > b.bar + 0.5))));
    check(r.name, `${name} chart bars grow with their counts`, unfair.length === 0, JSON.stringify(c.bars));
  }
}

function sameCounts(a, b) {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
