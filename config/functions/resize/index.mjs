// Example function for config/sluice.yaml: echoes what it received.
export const handler = async (event) => ({ resized: true, event });
