export const hashed = "fingerprinted by a Vite-style hash";
