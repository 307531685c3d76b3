// tether recording player: /recordings/<terminal or task run> loads GET /v1/recordings/<id> with the
// dashboard's session cookie and plays it in asciinema-player (seek with the progress bar or the keys).
const notice = document.getElementById('notice');
const id = decodeURIComponent(location.pathname.split('/').pop() ?? '');
document.getElementById('title').textContent = `recording of ${id}`;

const fail = (state, text) => {
  document.body.dataset.state = state;
  notice.textContent = text;
};

const res = await fetch(`/v1/recordings/${encodeURIComponent(id)}`, { credentials: 'same-origin' });
if (res.status === 401) {
  fail('signed-out', 'not signed in: run `tether login` and open the link it prints, then come back here');
} else if (!res.ok) {
  const body = await res.json().catch(() => ({}));
  fail(
    res.status === 404 ? 'missing' : 'refused',
    body?.error?.message ?? `the recording could not be loaded (${res.status})`,
  );
} else {
  const cast = await res.text();
  // The player gets the cast as data: no second request, and the page's own credentials stay with it.
  window.tetherPlayer = AsciinemaPlayer.create({ data: cast }, document.getElementById('player'), {
    fit: 'width',
    idleTimeLimit: 2,
    controls: true,
    preload: true,
  });
  document.body.dataset.state = 'ready';
}
