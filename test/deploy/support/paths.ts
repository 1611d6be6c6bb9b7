// Where the deploy artifacts live (a light module: no tool or model imports).
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
export const CHART = path.join(ROOT, 'helm', 'gatehouse')
export const KUSTOMIZE_DIR = path.join(ROOT, 'deploy', 'kubernetes')
export const DOCKERFILE = path.join(ROOT, 'deploy', 'Dockerfile')
