-- pandoc Lua filter for the man pages: a table becomes a definition list
-- (first cell the term; the other cells, with their column's header, the
-- definition). groff's tbl cannot fit docs/config.md's wide tables in 80
-- columns; a list reads well in a terminal and needs no layout.
local function cell_blocks(cell)
  return cell.contents or cell[5] or cell
end

function Table(tbl)
  local head = {}
  if tbl.head and tbl.head.rows and #tbl.head.rows > 0 then
    for _, c in ipairs(tbl.head.rows[1].cells) do
      table.insert(head, pandoc.utils.stringify(cell_blocks(c)))
    end
  end
  local items = {}
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      local cells = row.cells
      local term = pandoc.utils.stringify(cell_blocks(cells[1]))
      local defs = {}
      for i = 2, #cells do
        local blocks = cell_blocks(cells[i])
        local inl = pandoc.utils.blocks_to_inlines(blocks)
        if #head >= i and #cells > 2 then
          table.insert(inl, 1, pandoc.Emph({pandoc.Str(head[i] .. ":")}))
          table.insert(inl, 2, pandoc.Space())
        end
        table.insert(defs, {pandoc.Para(inl)})
      end
      local termInl = pandoc.utils.blocks_to_inlines(cell_blocks(cells[1]))
      table.insert(items, {termInl, defs})
    end
  end
  return pandoc.DefinitionList(items)
end
