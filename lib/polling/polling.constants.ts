/** The metadata key under which `@Until()` keeps a method's checked loop plan. Internal. */
export const UNTIL_METADATA = 'nestjs-wait:until';
