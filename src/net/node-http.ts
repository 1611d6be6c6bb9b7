// node:http, loaded with require(). An ES `import` of node:http makes node build the
// module's namespace, which reads its lazy WebSocket/MessageEvent exports and so loads
// node's own fetch implementation (its bundled undici): 13 MB more RSS in every Pod
// for code Gatehouse never calls (issue 17; test/e2e/lean-start.test.ts guards it).
import { createRequire } from 'node:module'

export const http = createRequire(import.meta.url)('node:http') as typeof import('node:http')
