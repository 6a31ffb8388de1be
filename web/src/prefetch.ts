/**
 * The page's first script, a few hundred bytes, loaded before the main one
 * (map.js, with the graph library: half a megabyte to download, parse and
 * run): it sends the topology GET the first draw waits for at once, so the
 * server's answer arrives while map.js is still being parsed. The main
 * script's Api takes the response (api.ts, takePrefetch) instead of asking
 * again. A file of its own, not inline: the CSP allows only 'self' scripts.
 */
import { apiRequest, PREFETCH_PATH, takeToken } from './api';

const token = takeToken();
const response = apiRequest(PREFETCH_PATH, token);
// Handled here too: a failure (the server unreachable) is the main script's to report, with its retries.
response.catch(() => undefined);
window.netbeaconPrefetch = { path: PREFETCH_PATH, token, response };
