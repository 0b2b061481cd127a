// Is a provider API token accepted? One authenticated GET, with a timeout and a readable answer
// that says what to fix: the token, or the address.

export type TokenCheck = { ok: true } | { ok: false; fix: 'token' | 'address'; problem: string };

export async function checkBearerToken(url: string, token: string, timeoutMs = 10_000): Promise<TokenCheck> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const reason = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    return { ok: false, fix: 'address', problem: `cannot reach ${new URL(url).origin}: ${reason}` };
  }
  await response.body?.cancel();
  if (response.ok) return { ok: true };
  if (response.status === 401 || response.status === 403) {
    return { ok: false, fix: 'token', problem: `the token was refused (${response.status} ${response.statusText || 'Unauthorized'})` };
  }
  return { ok: false, fix: 'address', problem: `${url} answered ${response.status} ${response.statusText}` };
}
