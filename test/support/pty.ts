// Runs a command on a real pseudo-terminal: util-linux `script` allocates one and
// copies everything the terminal shows (the program's output and whatever the
// terminal echoes of what was typed) to its stdout, our transcript. Keys are typed
// only once a prompt has been seen, as a person would: input typed before the
// program turns echo off is echoed by any terminal.
import { spawn } from 'node:child_process'
import { findTool } from './tools.js'

export const scriptTool = findTool('script', 'GATEHOUSE_SCRIPT', 'install util-linux (Debian: bsdutils), or set GATEHOUSE_SCRIPT')

export interface PtyStep {
  /** Typed once the transcript has this many occurrences of `prompt`. */
  readonly afterPrompts: number
  readonly type: string
}

export interface PtyResult {
  readonly code: number | null
  /** Everything the terminal showed, with carriage returns removed. */
  readonly transcript: string
}

const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`

export function runOnPty(argv: readonly string[], prompt: string, steps: readonly PtyStep[], timeoutMs = 20_000): Promise<PtyResult> {
  // -q quiet, -e the command's exit code, -E always: the terminal echoes typed keys unless the program stops it.
  const child = spawn(scriptTool.require(), ['-qe', '-E', 'always', '-c', argv.map(shellQuote).join(' '), '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TERM: 'dumb' },
  })
  let transcript = ''
  let next = 0
  const typeDue = () => {
    while (next < steps.length && transcript.split(prompt).length - 1 >= (steps[next] as PtyStep).afterPrompts) {
      child.stdin.write((steps[next] as PtyStep).type)
      next++
    }
  }
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    transcript += c
    typeDue()
  })
  child.stderr.setEncoding('utf8').on('data', (c: string) => (transcript += c))
  child.stdin.on('error', () => {})
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${argv.join(' ')} on a pty did not finish within ${timeoutMs} ms; it showed: ${JSON.stringify(transcript)}`))
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, transcript: transcript.replaceAll('\r', '') })
    })
  })
}
