// Placement.Platforms (from the image manifest): the node's OS and architecture must match one
// entry; an empty field matches anything. Architectures compare normalized (x86_64 = amd64).
import { defineFilter } from './filter.js';

export const platformFilter = defineFilter({
  name: 'platform',
  reason: 'unsupported platform',
  enabled: (task) => task.platforms.length > 0,
  check: (task, node) => task.platforms.some((p) => (p.os === '' || p.os === node.os) && (p.arch === '' || p.arch === node.platformArch)),
});
