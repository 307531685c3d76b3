// tether dashboard: which view the page shows (lanes, activity, time travel, history), from the URL's
// hash, so a view can be linked to (#time-travel/share/<id>). Each view reads the API when it is opened.
import * as activity from '/dashboard/activity.js';
import * as history from '/dashboard/history.js';
import * as timeTravel from '/dashboard/time-travel.js';

const VIEWS = { lanes: null, activity, 'time-travel': timeTravel, history };

function route() {
  const [name, ...rest] = decodeURIComponent(location.hash.slice(1)).split('/');
  const view = name in VIEWS ? name : 'lanes';
  document.body.dataset.view = view;
  for (const a of document.querySelectorAll('#views a'))
    a.setAttribute('aria-current', a.dataset.view === view ? 'page' : 'false');
  for (const [n, v] of Object.entries(VIEWS)) {
    const section = document.getElementById(`${n}-view`);
    if (section) section.hidden = n !== view;
    if (n === view && v) void v.open(section, rest);
  }
}

window.addEventListener('hashchange', route);
route();
