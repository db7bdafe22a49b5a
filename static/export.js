// The export page follows its job without reloading: it asks /exports/{id}.json every
// few seconds while the export is being made, updates the status (a polite live region)
// and the progress bar, and shows the download link when the file is ready. Without
// JavaScript the page's Refresh link does the same.
const box = document.getElementById("export");
const every = Number(box && box.dataset.refresh) * 1000;

async function follow() {
  let answer;
  try {
    const response = await fetch(box.dataset.export, { headers: { accept: "application/json" } });
    if (!response.ok) return setTimeout(follow, every * 2);
    answer = await response.json();
  } catch {
    return setTimeout(follow, every * 2); // offline for a moment: try again later
  }
  if (answer.state === "done" || answer.state === "failed" || answer.state === "expired") {
    window.location.reload(); // the finished page: its link, or the error and a retry
    return;
  }
  box.querySelector('[data-field="state_name"]').textContent = answer.state_name;
  const bar = document.getElementById("export-progress");
  if (answer.total !== null) {
    bar.max = Math.max(answer.total, 1);
    bar.value = answer.done;
    box.querySelector('[data-field="count"]').textContent = box.dataset.count
      .replace("{done}", answer.done)
      .replace("{total}", answer.total);
  }
  setTimeout(follow, every);
}

if (box && every > 0) setTimeout(follow, every);
