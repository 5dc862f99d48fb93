import { render } from 'preact'
import { App } from './app'
import { refresh, signedOut } from './lib/api'

/** Boot: the refresh cookie, if any, signs the visitor in; then the page renders what the path asks for. */
render(<App />, document.getElementById('app')!)
void refresh().then((ok) => ok || signedOut())
