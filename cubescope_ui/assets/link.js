// The share link: keeps the address bar on the analysis (history.replaceState, so settings
// never add history entries; only page switches do) and shows it with a copy button.

export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".cs-link");
  if (!root) {
    // Appended, not written over: the parent also holds the component's <style>.
    root = document.createElement("div");
    root.className = "cs-link";
    root.innerHTML = `<code class="cs-url"></code>
      <button type="button" class="cs-copy" title="Copy the link">Copy link</button>`;
    parentElement.appendChild(root);
    root.querySelector(".cs-copy").addEventListener("click", async () => {
      const button = root.querySelector(".cs-copy");
      try { await navigator.clipboard.writeText(window.location.href); button.textContent = "Copied"; }
      catch { button.textContent = "Select the link to copy it"; }
      setTimeout(() => { button.textContent = "Copy link"; }, 1500);
    });
  }
  keep(root, data && typeof data.query === "string" ? data.query : "", 20);
}

// The address bar on ``query``, then the link shown. Browsers drop replaceState calls that come
// too fast ("Throttling navigation"), so the address is checked and the write tried again.
function keep(root, query, attempts) {
  root.dataset.query = query;
  const url = new URL(window.location.href);
  if (url.search.replace(/^\?/, "") !== query) {
    url.search = query;
    window.history.replaceState(window.history.state, "", url.toString());
  }
  root.querySelector(".cs-url").textContent = window.location.href;
  const written = new URL(window.location.href).search.replace(/^\?/, "") === url.search.replace(/^\?/, "");
  if (!written && attempts > 0) {
    setTimeout(() => { if (root.dataset.query === query) keep(root, query, attempts - 1); }, 250);
  }
}
