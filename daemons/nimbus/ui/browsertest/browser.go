// Package browsertest drives the web UI in a real, headless Chromium
// (Debian's chromium package) through the DevTools protocol (chromedp), for
// end-to-end tests of the UI against a running cluster: open a page, click,
// confirm a dialog, wait for text or for a condition on the DOM.
//
// Start skips the test where chromium is missing, and fails it in CI
// (testutil.MissingTool; .ci/run installs chromium). Each browser has its own
// temporary profile and process group, killed by its pid when the test ends.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/localstorm/localstorm/internal/testutil"
)

// Timeout bounds each wait of a Browser (the UI refreshes every 2 s; a loaded
// CI machine is slow).
const Timeout = 60 * time.Second

// Browser is one headless Chromium with one tab.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// chromiumPath finds Debian's chromium (CHROMIUM overrides).
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start starts a headless Chromium for t, with the flags CI needs when it
// runs as root (--no-sandbox) and without a GPU, and its own profile in a
// temporary directory. The browser is killed (its process group, by pid)
// when t ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		testutil.MissingTool(t, "chromium not found (apt-get install chromium)")
	}
	var cmd *exec.Cmd
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.ModifyCmdFunc(func(c *exec.Cmd) {
			if c.SysProcAttr == nil {
				c.SysProcAttr = &syscall.SysProcAttr{}
			}
			c.SysProcAttr.Setpgid = true // its renderers too die with kill(-pid)
			cmd = c
		}),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		if cmd != nil && cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		cancelAlloc()
	})
	// The first Run starts the browser; it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	return &Browser{t: t, ctx: ctx}
}

// run runs actions with the Browser's timeout.
func (b *Browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v\npage text:\n%s", what, err, b.pageText())
	}
}

// pageText is the page's visible text, for failure messages.
func (b *Browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return s
}

// Open loads url and waits for its body.
func (b *Browser) Open(url string) {
	b.t.Helper()
	b.run("open "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
}

// Click waits for an enabled element that selector (CSS) matches and clicks
// it. The element is found and clicked in one step in the page: the UI
// replaces its content every 2 s, so a node found earlier may be gone.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.clickWhere("click "+selector, selector, "true")
}

// clickWhere clicks the first element selector matches for which the
// JavaScript predicate pred (of e) holds and that is not disabled.
func (b *Browser) clickWhere(what, selector, pred string) {
	b.t.Helper()
	b.WaitJS(what, fmt.Sprintf(`(() => {
		const e = [...document.querySelectorAll(%q)].find(e => !e.disabled && (%s));
		if (e) e.click();
		return !!e;
	})()`, selector, pred))
}

// ClickText is Click of the element whose text (trimmed) is text: a button
// by its label.
func (b *Browser) ClickText(selector, text string) {
	b.t.Helper()
	b.clickWhere(fmt.Sprintf("click %s %q", selector, text), selector, fmt.Sprintf("e.textContent.trim() === %q", text))
}

// Confirm presses the confirm button of the UI's open confirmation dialog.
func (b *Browser) Confirm() {
	b.t.Helper()
	b.Click("dialog#confirm[open] #confirm-ok")
}

// WaitText waits until the text of the first element selector matches
// contains text.
func (b *Browser) WaitText(selector, text string) {
	b.t.Helper()
	b.WaitJS(fmt.Sprintf("%s shows %q", selector, text),
		fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, selector, text))
}

// WaitJS waits until the JavaScript expression cond is true, polling the
// page.
func (b *Browser) WaitJS(what, cond string) {
	b.t.Helper()
	poll := chromedp.Poll[bool](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(Timeout))
	b.run("wait until "+what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := poll(ctx, t)
		return chromedp.Void{}, err
	})
}

// Eval evaluates the JavaScript expression js to a string (JSON.stringify
// what is not one).
func (b *Browser) Eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const v = (%s); return typeof v === 'string' ? v : JSON.stringify(v); })()`, js)))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", js, err)
	}
	return s
}
