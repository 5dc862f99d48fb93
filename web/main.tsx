import { render } from 'preact'
import { App } from './app'
import { maySignIn, refresh, signedOut } from './lib/api'

/**
 * Boot: the refresh cookie, if any, signs the visitor in; then the page renders what the path asks
 * for. A signed-in page asks even unmarked: its visitor expects a sign-in, perhaps one from before the mark.
 */
render(<App />, document.getElementById('app')!)
if (maySignIn() || window.location.pathname.startsWith('/app/')) void refresh().then((ok) => ok || signedOut())
else signedOut()
