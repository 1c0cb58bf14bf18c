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
  const query = data && typeof data.query === "string" ? data.query : "";
  const url = new URL(window.location.href);
  if (url.search.replace(/^\?/, "") !== query) {
    url.search = query;
    window.history.replaceState(window.history.state, "", url.toString());
  }
  root.querySelector(".cs-url").textContent = window.location.href;
}
