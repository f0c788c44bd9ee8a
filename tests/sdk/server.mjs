// Starts the real binary on a fresh SQLite file and a free port, and reads the bootstrap
// credentials it prints once.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const binary = process.env.PROVISIONING_BIN ?? resolve(import.meta.dirname, '../../target/debug/provisioning')

export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'provisioning-sdk-'))
  const env = { ...process.env, DATABASE_URL: `sqlite://${join(dir, 'walk.db')}`, BIND: '127.0.0.1:0', RUST_LOG: 'warn' }
  delete env.PUBLIC_URL
  const child = spawn(binary, ['serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  const ready = new Promise((resolveReady, reject) => {
    child.on('error', (error) => reject(new Error(`cannot start ${binary}: ${error.message}`)))
    child.on('exit', (code) => reject(new Error(`the server exited early (${code}):\n${output}`)))
    child.stdout.on('data', (chunk) => {
      output += chunk
      const url = output.match(/Listening on (\S+)/)?.[1]
      const clientId = output.match(/client_id:\s+(\S+)/)?.[1]
      const clientSecret = output.match(/client_secret:\s+(\S+)/)?.[1]
      if (url && clientId && clientSecret) resolveReady({ url, clientId, clientSecret })
    })
  })
  const started = await ready
  return {
    ...started,
    /** `provisioning users create`, on the same database. */
    createUser(email) {
      const out = execFileSync(binary, ['users', 'create', '--email', email, '--first-name', 'Sam', '--last-name', 'Reader'], { env, encoding: 'utf8' })
      return { clientId: out.match(/client_id:\s+(\S+)/)[1], clientSecret: out.match(/client_secret:\s+(\S+)/)[1] }
    },
    stop() {
      child.kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A fetch that sends requests meant for `https://<sub>.<domain>` to `base` instead. */
export function redirectingFetch(domain, base) {
  const original = globalThis.fetch
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    if (url.hostname.endsWith(`.${domain}`)) {
      const target = new URL(base)
      url.protocol = target.protocol
      url.host = target.host
    }
    return original(url, init)
  }
}
