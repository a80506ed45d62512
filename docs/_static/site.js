// Touches the theme lacks.
document.addEventListener("DOMContentLoaded", () => {
  // A click on a figure (the gallery's, the studies') opens it at full resolution: the
  // figures hold more detail than the text column shows, on a phone above all.
  const zoomable = "img.sphx-glr-single-img, img.sphx-glr-multi-img, .bd-article figure img";
  for (const img of document.querySelectorAll(zoomable)) {
    if (img.closest("a")) continue;
    const sources = (img.getAttribute("srcset") || "")
      .split(",")
      .map((s) => s.trim().split(/\s+/)[0])
      .filter(Boolean);
    const link = document.createElement("a");
    link.href = sources.length ? sources[sources.length - 1] : img.src;
    link.title = "Open the figure at full resolution";
    img.replaceWith(link);
    link.appendChild(img);
  }
  // A cell of figures ("0.947 ± 0.001", "0.946 / 0.952") stays on one line: wrapped,
  // it reads as several numbers. Cells of words wrap as usual.
  const figures = /^[\s\d.,/±–+\-%x()]+$/;
  for (const cell of document.querySelectorAll(".bd-article td")) {
    if (figures.test(cell.textContent)) cell.classList.add("sk-nowrap");
  }
  // A dotted name as a page's title (sk_embed.available_losses) may break after a dot
  // on a narrow screen, rather than in the middle of a word.
  for (const title of document.querySelectorAll(".bd-article h1")) {
    const walker = document.createTreeWalker(title, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (/\w\.\w/.test(node.textContent)) {
        node.textContent = node.textContent.replace(/(\w)\.(?=\w)/g, "$1.\u200b");
      }
    }
  }
  // A table in an "sk-cards" container becomes one card per row on a phone
  // (tables.css): each cell carries its column's heading, shown before it there.
  for (const table of document.querySelectorAll(".sk-cards table")) {
    const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        cell.setAttribute("data-label", headings[i] || "");
        if (!cell.textContent.trim()) cell.classList.add("sk-empty"); // no card line
      });
    }
  }
  // A page whose tables are wider than the text column gets the page's whole width
  // (the studies' tables), rather than a table that scrolls sideways.
  const article = document.querySelector(".bd-article-container");
  if (article && [...article.querySelectorAll("table")].some((t) => t.scrollWidth > article.clientWidth)) {
    article.style.maxWidth = "none";
  }
  // A table that is still wider than the screen (a phone) says that it scrolls.
  for (const box of document.querySelectorAll(".bd-article .pst-scrollable-table-container")) {
    if (box.closest(".sk-cards") || box.scrollWidth <= box.clientWidth + 2) continue;
    const cue = document.createElement("p");
    cue.className = "sk-scroll-cue";
    cue.textContent = "More columns: scroll the table sideways \u2192";
    box.before(cue);
  }
});
