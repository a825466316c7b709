// Empties dist/ before a build, keeping the committed dist/.gitkeep (go:embed needs the folder).
import { readdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist')
for (const name of readdirSync(dist)) {
  if (name !== '.gitkeep') rmSync(path.join(dist, name), { recursive: true, force: true })
}
