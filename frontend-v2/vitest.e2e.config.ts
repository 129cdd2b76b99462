import { defineConfig } from "vitest/config";

// The browser end-to-end test (e2e/): a real server, the built app (dist/), Debian's Chromium.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
