// What the kernel says about CPU and memory: per-process CPU ticks and RSS from
// /proc/<pid>/stat and /status, per-core busy time from /proc/stat, and the CPU
// that processes outside this benchmark used while it measured (the machine is
// shared; the report says how busy the neighbours were).
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export const HAS_PROC = (() => {
  try {
    readFileSync('/proc/self/stat')
    return true
  } catch {
    return false
  }
})()

/** USER_HZ: the unit of every tick count below. */
export const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim())
    return Number.isFinite(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
})()

export interface PidStat {
  readonly pid: number
  readonly ppid: number
  /** utime + stime: this process's own threads. */
  readonly ticks: number
  readonly utime: number
  readonly stime: number
  /** cutime + cstime: its children that have exited and been waited for. */
  readonly childTicks: number
}

function parseStat(text: string, pid: number): PidStat | null {
  const close = text.lastIndexOf(')')
  if (close < 0) return null
  const f = text.slice(close + 2).split(' ') // f[0] is field 3 (state)
  const num = (i: number) => Number(f[i] ?? 0)
  return { pid, ppid: num(1), ticks: num(11) + num(12), utime: num(11), stime: num(12), childTicks: num(13) + num(14) }
}

export function pidStat(pid: number): PidStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1'), pid)
  } catch {
    return null
  }
}

/**
 * VmRSS, VmHWM and RssAnon in KiB (null when the process is gone). RssAnon is the
 * process's private memory (heap, buffers); the rest of RSS is mostly the node binary's
 * pages, which every process running the same binary file shares through the page cache.
 */
export function pidMemory(pid: number): { rssKb: number; hwmKb: number; anonKb: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'latin1')
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0)
    return { rssKb: field('VmRSS'), hwmKb: field('VmHWM'), anonKb: field('RssAnon') }
  } catch {
    return null
  }
}

/** This process and every ancestor (npm, sh, the tsx launcher…), which are ours too. */
export function selfAndAncestors(): Set<number> {
  const out = new Set<number>()
  let pid = process.pid
  for (let i = 0; i < 64 && pid > 1 && !out.has(pid); i++) {
    out.add(pid)
    const s = pidStat(pid)
    if (!s) break
    pid = s.ppid
  }
  return out
}

export type CpuTimes = Map<string, { total: number; idle: number; steal: number }>

export function cpuTimes(): CpuTimes {
  const out: CpuTimes = new Map()
  if (!HAS_PROC) return out
  for (const line of readFileSync('/proc/stat', 'latin1').split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line)
    if (!m) continue
    const v = (m[2] ?? '').split(/\s+/).map(Number)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v
    out.set(m[1] as string, { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait, steal })
  }
  return out
}

/** Busy % per core between two snapshots, and the window in ticks (from the first core). */
export function cpuBusy(a: CpuTimes, b: CpuTimes): { busy: Record<string, number>; stealMax: number; elapsedTicks: number } {
  const busy: Record<string, number> = {}
  let stealMax = 0
  let elapsedTicks = 0
  for (const [name, x] of a) {
    const y = b.get(name)
    if (!y) continue
    const dt = y.total - x.total
    if (dt <= 0) continue
    elapsedTicks = Math.max(elapsedTicks, dt)
    busy[name] = (100 * (dt - (y.idle - x.idle) - (y.steal - x.steal))) / dt
    stealMax = Math.max(stealMax, (100 * (y.steal - x.steal)) / dt)
  }
  return { busy, stealMax, elapsedTicks }
}

/** Every process's stat (kernel threads left out: they carry our own network load too). */
export function allProcs(): Map<number, PidStat> {
  const out = new Map<number, PidStat>()
  if (!HAS_PROC) return out
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const s = pidStat(Number(name))
    if (!s || s.pid === 2 || s.ppid === 2) continue
    out.set(s.pid, s)
  }
  return out
}

/**
 * Ticks used between two snapshots by processes that are not ours. A process
 * that exited in the window is counted through its parent's cutime/cstime, so
 * its ticks from before the window are subtracted (as bench-peers/run.sh does).
 */
export function foreignTicks(before: Map<number, PidStat>, after: Map<number, PidStat>, ours: (s: PidStat) => boolean): number {
  let t = 0
  for (const [pid, s] of after) {
    if (ours(s)) continue
    const b = before.get(pid)
    t += s.ticks + s.childTicks - (b ? b.ticks + b.childTicks : 0)
  }
  for (const [pid, s] of before) {
    if (!after.has(pid) && !ours(s)) t -= s.ticks + s.childTicks
  }
  return Math.max(0, t)
}
