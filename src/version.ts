/** The program's name and version, and the User-Agent it sends Basecamp unless BASECAMP_USER_AGENT says otherwise. */
export const PROJECT_URL = 'https://github.com/basecamp-people-mcp/basecamp-people-mcp';
export const VERSION = '0.1.0';
export const DEFAULT_USER_AGENT = `basecamp-people-mcp/${VERSION} (${PROJECT_URL})`;
