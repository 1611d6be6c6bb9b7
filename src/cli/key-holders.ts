// What `keys create` checks a new key against (issue 18): the API names of the
// config, and, when it has an `issuer.usersFile`, the users in it and what each
// may hold. A key beyond them would only ever be refused by the proxy (401 for
// a user the file does not list, 403 past the user's permissions).
import { loadUsersFile } from '../accounts/users.js'
import { loadConfigFile } from '../config/load.js'
import { formatProblems } from '../config/problem.js'
import { atLeast, levelFor, type Permissions } from '../credentials/permissions.js'
import type { KeyHolders } from './keys-io.js'
import { StartError } from './start-error.js'

export async function loadKeyHolders(configFile: string): Promise<KeyHolders> {
  const loaded = await loadConfigFile(configFile)
  if (!loaded.ok) throw new StartError(formatProblems(configFile, loaded.problems), 1)
  const { config } = loaded.value
  const usersFile = config.issuer?.usersFile
  if (!usersFile) return { apiNames: config.apis.map((a) => a.name), users: null }
  const users = await loadUsersFile(usersFile)
  if (!users.ok) throw new StartError(formatProblems(configFile, users.problems), 1)
  return { apiNames: config.apis.map((a) => a.name), users: { file: usersFile, directory: users.value } }
}

/** Why a key for `user` with `permissions` would be refused by this config, or null. */
export function keyBeyondHolders(user: string, permissions: Permissions, holders: KeyHolders): string | null {
  const unknown = Object.keys(permissions).filter((api) => !holders.apiNames.includes(api))
  if (unknown.length > 0) {
    const known = holders.apiNames.length > 0 ? holders.apiNames.join(', ') : 'none'
    return `--permissions: no API named ${unknown.map((a) => `"${a}"`).join(', ')} in the config (its APIs: ${known})`
  }
  if (!holders.users) return null
  const held = holders.users.directory.get(user)?.permissions
  if (held === undefined) return `--user ${user}: not in the users file ${holders.users.file}, so the proxy would refuse the key (401); add the user there first`
  const beyond = Object.entries(permissions).filter(([api, level]) => !atLeast(levelFor(held, api), level))
  if (beyond.length === 0) return null
  const asked = beyond.map(([api, level]) => `${api}:${level}`).join(',')
  const holds = beyond.map(([api]) => `${api}:${levelFor(held, api)}`).join(',')
  return `--permissions ${asked}: ${user} holds only ${holds} in the users file; a key never carries more than its user holds`
}
