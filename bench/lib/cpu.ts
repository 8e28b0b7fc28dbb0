/**
 * CPU accounting for a run: the server child from /proc/<pid>/stat (utime + stime, every thread
 * of the process: main loop, libuv pool, GC), this process from process.cpuUsage(), and Redis
 * from `INFO cpu`. Each is sampled right before and right after the measured window.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck: number | null = null;

function ticksPerSecond(): number {
  if (clkTck === null) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface ProcCpu {
  /** Microseconds in user mode. */
  readonly user: number;
  /** Microseconds in the kernel (syscalls: socket reads and writes, epoll). */
  readonly system: number;
}

function statFields(pid: number | string): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU time a process (all its threads) and its live child processes (`platter serve --workers`)
 * have used so far; null where /proc is missing.
 */
export function procCpu(pid: number): ProcCpu | null {
  const own = statFields(pid);
  if (own === null) return null;
  // Fields 4 (ppid), 14 (utime) and 15 (stime) of proc(5), counted from 1: indexes 1, 11 and 12
  // after field 2.
  const us = 1e6 / ticksPerSecond();
  let user = Number(own[11]);
  let system = Number(own[12]);
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) > 57) continue; // not a pid
    const f = statFields(entry);
    if (f !== null && Number(f[1]) === pid) {
      user += Number(f[11]);
      system += Number(f[12]);
    }
  }
  return { user: user * us, system: system * us };
}

/** Resident set size of a process in MiB; null where /proc is missing. */
export function procRssMiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export function selfCpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Redis's own CPU (used_cpu_user + used_cpu_sys) in microseconds, from an `INFO cpu` reply. */
export function redisCpuMicros(info: string): number | null {
  const user = /^used_cpu_user:([\d.]+)/m.exec(info);
  const sys = /^used_cpu_sys:([\d.]+)/m.exec(info);
  if (!user || !sys) return null;
  return (Number(user[1]) + Number(sys[1])) * 1e6;
}

/** CPU time every core of the machine has spent busy (not idle/iowait), in microseconds; null without /proc. */
export function machineBusyMicros(): number | null {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const line = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line;
  return ((user + nice + system + irq + softirq + steal) * 1e6) / ticksPerSecond();
}
