// The one-time token is in the link's fragment, which the browser never sends: post it once, drop it
// from the address bar and history, and go to the dashboard with the session cookie it set.
const status = document.getElementById('login-status');
const token = new URLSearchParams(location.hash.slice(1)).get('token');
history.replaceState(null, '', '/login');
if (!token) {
  status.textContent = 'This link has no sign-in token. Run `tether login` and open the link it prints.';
} else {
  const res = await fetch('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (res.ok) location.replace('/');
  else {
    const body = await res.json().catch(() => ({}));
    status.textContent = `Could not sign in: ${body.error?.message ?? res.status}. Run \`tether login\` for a new link.`;
    status.dataset.state = 'failed';
  }
}
