// What a customer's site needs from the chain, checked in a real browser: Debian's chromium, headless,
// driven over the DevTools protocol by puppeteer-core. A page from another origin (PAGE_URL, plain HTTP)
// includes three scripts from the edge (HTTPS, HTTP/2): acme/main.js, acme/widget.js (crossorigin, so
// CORS applies) and globex/main.js (a hostile config). Checks: the scripts run (their banners and
// globals), over h2; a reload revalidates every script (304, seen by the browser and in the edge's access
// log) and they still run; a content edit (a new file renamed over the old) shows on the next load; the
// hostile config stays data (its text shown verbatim, no alert, no extra script); no console errors,
// page errors or failed loads. Prints "ok"/"FAIL" lines; exit 1 on any failure.
// Environment: CHROMIUM, PAGE_URL, EDGE_ORIGIN, HOST_RULES, SPKI (the edge certificate's SPKI hash),
// PROFILE (a fresh user data dir), STORE (the store folder), ACCESS_LOG (the edge's JSON access log).
import fs from "node:fs";
import puppeteer from "puppeteer-core";

const env = (k) => {
    if (!process.env[k]) {
        console.log(`FAIL browser.mjs: ${k} is not set`);
        process.exit(2);
    }
    return process.env[k];
};
const [CHROMIUM, PAGE_URL, EDGE_ORIGIN, HOST_RULES, SPKI, PROFILE, STORE, ACCESS_LOG] = [
    "CHROMIUM", "PAGE_URL", "EDGE_ORIGIN", "HOST_RULES", "SPKI", "PROFILE", "STORE", "ACCESS_LOG",
].map(env);
const SCRIPTS = ["/acme/main.js", "/acme/widget.js", "/globex/main.js"];
const HOSTILE = JSON.parse(fs.readFileSync(`${STORE}/accounts/globex/main.json`, "utf8")).banner.text;

let fails = 0;
function check(name, got, want) {
    const g = JSON.stringify(got), w = JSON.stringify(want);
    if (g === w) console.log(`ok   ${name}`);
    else {
        console.log(`FAIL ${name}: got ${g}, want ${w}`);
        fails++;
    }
}

const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: false, // the flags below say --headless themselves (Debian's chromium has no headless shell)
    userDataDir: PROFILE,
    args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        `--host-resolver-rules=${HOST_RULES}`,
        // Trusts the edge's certificate by its public key only (the test CA is in no store).
        `--ignore-certificate-errors-spki-list=${SPKI}`,
    ],
});
const problems = []; // console errors, page errors, failed loads, dialogs: none expected
const seen = [];     // the edge's scripts as the browser got them: {url, status, protocol}
try {
    const page = await browser.newPage();
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("dialog", async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    cdp.on("Network.responseReceived", (e) => {
        if (e.response.url.startsWith(EDGE_ORIGIN))
            seen.push({ path: new URL(e.response.url).pathname, status: e.response.status, protocol: e.response.protocol });
    });
    cdp.on("Network.loadingFailed", (e) =>
        problems.push(`load failed: ${e.errorText}${e.blockedReason ? " (" + e.blockedReason + ")" : ""}` +
            `${e.corsErrorStatus ? " cors " + e.corsErrorStatus.corsError : ""}`));

    // state(): what the scripts left on the page.
    const state = () => page.evaluate(() => ({
        banners: [...document.querySelectorAll(".nearjs-banner")].map((e) => e.textContent),
        accounts: Object.keys(window.nearjs || {}).sort(),
        widget: window.nearjs && window.nearjs.acme && window.nearjs.acme.widget ? window.nearjs.acme.widget.title : null,
        scripts: document.scripts.length,
        done: window.pageDone === true,
    }));
    const statuses = () => SCRIPTS.map((p) => { const r = seen.filter((s) => s.path === p).pop(); return r ? r.status : 0; });
    const logged = () => fs.readFileSync(ACCESS_LOG, "utf8").trim().split("\n").map((l) => JSON.parse(l));

    // 1. First load: every script runs, over HTTP/2.
    await page.goto(PAGE_URL, { waitUntil: "load" });
    let s = await state();
    check("first load: the page itself ran", s.done, true);
    check("first load: both accounts' scripts ran (window.nearjs)", s.accounts, ["acme", "globex"]);
    check("first load: acme's banner shown", s.banners.includes("Acme: free shipping this week"), true);
    check("first load: the widget's config reached the page (crossorigin script)", s.widget, "Support <chat> & help");
    check("first load: each script 200 from the edge", statuses(), [200, 200, 200]);
    check("first load: over HTTP/2", [...new Set(seen.map((r) => r.protocol))], ["h2"]);

    // 2. The hostile config stays data: its text shown verbatim, no alert, no script added.
    check("hostile config: its banner is its text, verbatim (</script>, U+2028 and all)", s.banners.includes(HOSTILE), true);
    check("hostile config: no script element added (3 from the edge + 1 inline)", s.scripts, 4);

    // 3. Reload: each script revalidated (If-None-Match -> 304), and they run again.
    const before = logged().length;
    seen.length = 0;
    await page.reload({ waitUntil: "load" });
    s = await state();
    check("reload: the browser revalidated each script (304)", statuses(), [304, 304, 304]);
    const after = logged().slice(before).filter((l) => SCRIPTS.includes(l.path));
    check("reload: the edge answered 304 to each script", after.map((l) => l.status).sort(), [304, 304, 304]);
    check("reload: both accounts' scripts ran again", s.accounts, ["acme", "globex"]);
    check("reload: acme's banner shown again", s.banners.includes("Acme: free shipping this week"), true);
    check("reload: the widget's config again", s.widget, "Support <chat> & help");

    // 4. An edit, written as a new file renamed over the old, shows on the next load.
    const f = `${STORE}/accounts/acme/main.json`;
    const cfg = JSON.parse(fs.readFileSync(f, "utf8"));
    const text = `edited at ${Date.now()}`;
    cfg.banner.text = text;
    fs.writeFileSync(`${f}.tmp`, JSON.stringify(cfg));
    fs.renameSync(`${f}.tmp`, f);
    seen.length = 0;
    await page.reload({ waitUntil: "load" });
    s = await state();
    check("edit: the new banner shows on the next load", s.banners.includes(text), true);
    check("edit: edited script 200, the others 304", statuses(), [200, 304, 304]);

    check("no console errors, page errors, failed loads or dialogs", problems, []);
} catch (e) {
    console.log(`FAIL browser: ${e.message}`);
    fails++;
} finally {
    await browser.close();
}
if (fails) {
    if (problems.length) console.log(problems.join("\n"));
    process.exit(1);
}
console.log("all browser tests passed");
