import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API to a running `make dev` stack; the built app is served
// by the runner (locally) or CloudFront (in AWS) on the API's own origin.
export default defineConfig({
  plugins: [react()],
  build: { target: 'es2022', sourcemap: false, assetsInlineLimit: 0 },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});
